"""The kernel that runs student code during grading, in a sandbox: no network, the course's secrets out of sight, an
unprivileged user, a process limit.

nbgrader starts kernels from a kernelspec; `configure()` (called by nbgrader_config.py) gives it one, `genlab-sandbox`,
whose command is this module. It talks to nbgrader over ZeroMQ on unix sockets (transport "ipc") in a private folder,
because the kernel's network namespace has nothing but its own loopback:

    nbgrader (grader's rights, network, gradebook)
      └─ python -m genlab.course.sandbox CONNECTION_FILE          checks what is possible, then
           └─ unshare --net --mount [--user --map-root-user] -- python -m genlab.course.sandbox --inside ...
                mounts: the course folder, lessons/, solutions/, .git, the gradebook's and munge's sockets, the
                grader's Jupyter runtime folder and /tmp hidden under empty tmpfs (the submission's own folder and the
                kernel's socket folder put back); the repository and the Python environment read-only;
                then (as root) becomes `nobody` with no new privileges and at most MAX_PROCESSES processes
                └─ python -m genlab.course.sandbox_kernel                   guard.capture(), then the IPython kernel

Where namespaces are not available (no `unshare`, or a container that forbids them) the kernel runs without them
after a warning, unless GENLAB_SANDBOX=required, which makes such a grade fail (reported ungraded). GENLAB_SANDBOX=off
turns the sandbox off. The guard (genlab.course.guard) runs either way.
"""

import ctypes
import functools
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # as genlab.config has it, without importing torch (every kernel start)

KERNEL_NAME = "genlab-sandbox"
MODE_VARIABLE = "GENLAB_SANDBOX"  # auto (default) | required | off
COURSE_VARIABLE = "GENLAB_SANDBOX_COURSE"
HIDE_VARIABLE = "GENLAB_SANDBOX_HIDE"  # more paths to hide, separated by os.pathsep
SHARE_VARIABLE = "GENLAB_SANDBOX_SHARE"  # folders kept writable inside (a scratch folder; the tests' pid files)
USER_VARIABLE = "GENLAB_SANDBOX_USER"  # the unprivileged user kernels run as when grading as root (default nobody)
MAX_PROCESSES = 512  # per kernel user: enough for DataLoader workers, not for a fork bomb
MAX_FILE_BYTES = 4 * 2**30  # one file the kernel writes: a checkpoint fits, filling the disk does not
SOCKET_DIRS = ("/run/postgresql", "/var/run/postgresql", "/run/munge", "/var/run/munge")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWUSER = 0x10000000
_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    pass


def _mount(source, target, fstype, flags, data=None):
    if _libc.mount(source and str(source).encode(), str(target).encode(), fstype and fstype.encode(), flags,
                   data and data.encode()) != 0:
        error = ctypes.get_errno()
        raise SandboxError(f"mount {source} on {target} failed: {os.strerror(error)}")


# ---------------------------------------------------------------------------------------------------- nbgrader side
def configure(c, course_dir):
    """nbgrader_config.py: grade with the sandbox kernel, over unix sockets in a private folder per nbgrader process."""
    private = Path(tempfile.mkdtemp(prefix="genlab-kernel-"))  # mode 0700: other users cannot reach the sockets
    spec_dir = private / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "genlab.course.sandbox", "{connection_file}"],
        "display_name": "genlab grading sandbox", "language": "python"}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(private), os.environ.get("JUPYTER_PATH")]))
    os.environ[COURSE_VARIABLE] = str(Path(course_dir).resolve())
    c.Execute.kernel_name = KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(private / "ipc" / "kernel")
    (private / "ipc").mkdir()

    import atexit

    atexit.register(shutil.rmtree, private, True)


def mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if value not in ("auto", "required", "off"):
        raise SystemExit(f"{MODE_VARIABLE}={value!r}: use auto (sandbox where possible), required or off.")
    return value


def unshare_command() -> list:
    root = os.geteuid() == 0
    return ["unshare", "--net", "--mount", *([] if root else ["--user", "--map-root-user"]), "--"]


@functools.lru_cache(maxsize=None)
def probe() -> str:
    """'' when the sandbox works here, else why not (once per process): runs the whole set-up once, with a
    throw-away kernel folder."""
    if not shutil.which("unshare"):
        return "`unshare` (util-linux) is not installed"
    with tempfile.TemporaryDirectory(prefix="genlab-probe-") as folder:
        run = subprocess.run([*unshare_command(), sys.executable, "-m", "genlab.course.sandbox", "--probe", folder,
                              "root" if os.geteuid() == 0 else "userns"],
                             capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        return (run.stderr.strip().splitlines() or [f"unshare exited {run.returncode}"])[-1][:300]
    return ""


def status_line() -> str:
    """One line for `genlab grade` to print: how student code will run."""
    if mode() == "off":
        return f"sandbox: OFF ({MODE_VARIABLE}=off): student code runs with the grader's rights and network"
    why = probe()
    if not why:
        who = _kernel_user().pw_name if os.geteuid() == 0 else "the grader's user in a user namespace"
        return f"sandbox: on (no network, course secrets hidden, kernels run as {who})"
    if mode() == "required":
        return f"sandbox: UNAVAILABLE ({why}); {MODE_VARIABLE}=required, so every grade will fail"
    return (f"sandbox: UNAVAILABLE ({why}): WARNING, student code runs with the grader's rights and network; "
            f"the checks are still guarded. Grade where `unshare` works, or set {MODE_VARIABLE}=required to refuse")


# ---------------------------------------------------------------------------------------------------- the plan
def _kernel_user():
    name = os.environ.get(USER_VARIABLE, "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise SandboxError(f"no user {name!r} to run kernels as; create it or set {USER_VARIABLE}") from None


def _git_dirs() -> list:
    dot_git = REPO_ROOT / ".git"
    if dot_git.is_file():  # a worktree: .git names its folder inside the main checkout's .git
        text = dot_git.read_text().strip()
        if text.startswith("gitdir:"):
            worktree = Path(text.split(":", 1)[1].strip())
            return [dot_git, worktree.parent.parent]
    return [dot_git]


def hidden_paths(course_dir: Path | None) -> list:
    """What the kernel must not see: the course folder (hidden tests in source/, other students' work, the
    gradebook, the roster, the course secret), the lessons with their hidden tests, the solutions, the history,
    the gradebook's and munge's sockets, the grader's Jupyter runtime folder (other kernels' keys)."""
    from jupyter_core.paths import jupyter_runtime_dir

    # the grader's home: credentials (~/.pgpass, ~/.ssh), other kernels' connection files; what the kernel needs
    # from it (a Python installed there, say by pyenv) is put back read-only (read_only_paths)
    paths = [REPO_ROOT / "lessons", REPO_ROOT / "solutions", *_git_dirs(), Path(jupyter_runtime_dir()),
             Path.home(), *map(Path, SOCKET_DIRS)]
    if course_dir:
        paths.append(Path(course_dir))
        from genlab.course import nbgrader

        host = _socket_dir(nbgrader.gradebook_url(course_dir))
        if host:
            paths.append(Path(host))
    paths += [Path(p) for p in os.environ.get(HIDE_VARIABLE, "").split(os.pathsep) if p]
    return [p for p in paths if p.exists()]


def _socket_dir(url: str) -> str:
    """The unix-socket folder of a Postgres URL (host=/path or an absolute host), else ''."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL hides nothing; nbgrader reports it itself
        return ""
    host = parsed.query.get("host") or parsed.host or ""
    host = host[0] if isinstance(host, tuple) else host
    return host if host.startswith("/") else ""


def read_only_paths() -> list:
    """What the kernel needs to read but must not change: the repository (genlab's checks), the Python environment,
    every folder on sys.path (an editable install), the data."""
    paths = {Path(REPO_ROOT), Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent}
    paths |= {Path(p) for p in sys.path[1:] if p and Path(p).is_dir()}  # sys.path[0] is the submission's folder
    if os.environ.get("GENLAB_DATA"):
        paths.add(Path(os.environ["GENLAB_DATA"]))
    paths = {p.resolve() for p in paths if p.exists()} - {Path("/")}
    # a folder inside another one is covered by it
    return sorted(p for p in paths if not any(other in p.parents for other in paths))


def shared_paths() -> list:
    return [Path(p).resolve() for p in os.environ.get(SHARE_VARIABLE, "").split(os.pathsep) if p and Path(p).is_dir()]


# ---------------------------------------------------------------------------------------------------- kernel side
def _bind(fd: int, target: Path, read_only: bool):
    target.mkdir(parents=True, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)


def enter(course_dir: Path | None, workdir: Path, private: Path) -> None:
    """In the new mount and network namespaces: make the environment read-only, hide the secrets and /tmp (empty
    tmpfs over folders, /dev/null over files), put back what the kernel needs inside what was hidden, bring up
    loopback. `private` (the kernel's socket folder) and `workdir` (the submission's folder) stay writable."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here leaks back to the grader's namespace
    if os.environ.get("GENLAB_DATA"):  # a path through a symlink under the hidden /tmp must still lead to the data
        os.environ["GENLAB_DATA"] = str(Path(os.environ["GENLAB_DATA"]).resolve())
    read_only = read_only_paths()
    writable = [workdir.resolve(), private.resolve(), *shared_paths()]
    # opened before any mount: each fd still reaches its folder once something is mounted over a parent
    keep = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY), p in read_only) for p in [*read_only, *writable]]
    keep.sort(key=lambda k: len(k[0].parts))  # shallow first: the writable submission folder lands on the repository
    for path, fd, _ in keep[:]:
        if path in read_only:
            _bind(fd, path, read_only=True)
    hide = {p.resolve() for p in hidden_paths(course_dir)} | {Path(tempfile.gettempdir()).resolve()}
    for path in sorted(hide, key=lambda p: len(p.parts)):
        if not path.exists():  # inside something hidden already
            continue
        if not path.is_dir():
            _mount("/dev/null", path, None, MS_BIND)
            continue
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755")
        for kept, fd, ro in keep:
            if kept == path or path in kept.parents:
                _bind(fd, kept, ro)
    for _, fd, _ in keep:
        os.close(fd)
    if shutil.which("ip"):  # loopback up, so code that talks to itself on 127.0.0.1 works; nothing else exists
        subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)


def _lock_mounts():
    """In a user namespace the kernel would be root over its own mounts and could unmount what hides the secrets.
    One more user namespace (same uid, mapped) takes that away: the mount namespace belongs to the parent one, so
    CAP_SYS_ADMIN here no longer covers it, and the mounts inherited are locked together."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER) != 0:
        raise SandboxError(f"unshare(CLONE_NEWUSER) failed: {os.strerror(ctypes.get_errno())}")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def drop_privileges(writable: list, as_root: bool) -> dict:
    """As root: become the kernel user, owning only the folders it must write; no setuid way back. In a user
    namespace (grading as another user): lock the mounts instead. Returns the environment changes (HOME in the
    private tmp)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    home = Path(tempfile.gettempdir()) / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "MPLCONFIGDIR": str(home / ".matplotlib"), "TMPDIR": str(Path(tempfile.gettempdir()))}
    if as_root:
        user = _kernel_user()
        for folder in [home, *writable]:
            for root, dirs, files in os.walk(folder):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.lchown(name, user.pw_uid, user.pw_gid)
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))  # counted per user: set before
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        env["USER"] = env["LOGNAME"] = user.pw_name
    else:
        _lock_mounts()
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxError("prctl(PR_SET_NO_NEW_PRIVS) failed")
    return env


def kernel_command(connection_file: str) -> list:
    return [sys.executable, "-m", "genlab.course.sandbox_kernel", "-f", connection_file]


def _warn(message: str):
    print(f"[genlab sandbox] {message}", file=sys.stderr, flush=True)


def outside(connection_file: str):
    """Started by jupyter_client as the kernel: go into the namespaces, or warn and run the plain kernel."""
    chosen = mode()
    if chosen != "off":
        why = "" if shutil.which("unshare") else "`unshare` is not installed"
        if not why:
            check = subprocess.run([*unshare_command(), "true"], capture_output=True, text=True)
            why = check.stderr.strip()[-300:] if check.returncode else ""
        if not why:
            os.execvp("unshare", [*unshare_command(), sys.executable, "-m", "genlab.course.sandbox", "--inside",
                                  connection_file, os.getcwd(), "root" if os.geteuid() == 0 else "userns"])
        if chosen == "required":
            raise SystemExit(f"[genlab sandbox] namespaces unavailable ({why}) and {MODE_VARIABLE}=required")
        _warn(f"WARNING: namespaces unavailable ({why}): this kernel has the network and the grader's rights")
    os.execv(sys.executable, kernel_command(connection_file))


def inside(connection_file: str, workdir: str, how: str):
    course = os.environ.get(COURSE_VARIABLE)
    info = json.loads(Path(connection_file).read_text())
    private = Path(info["ip"]).parent if info.get("transport") == "ipc" else Path(tempfile.mkdtemp())
    copy = private / "connection.json"  # the original sits in the grader's runtime folder, which is hidden
    copy.write_text(json.dumps(info))
    enter(Path(course) if course else None, Path(workdir), private)
    env = drop_privileges([private, Path(workdir), *shared_paths()], as_root=how == "root")
    for name in list(os.environ):  # the kernel has no use for the gradebook's URL (a password?) or credentials
        if name.startswith("PG") or name == "GENLAB_GRADEBOOK_URL" or any(
                word in name.upper() for word in ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL")):
            del os.environ[name]
    os.chdir(workdir)
    os.environ.update(env)
    os.execv(sys.executable, kernel_command(str(copy)))


def probe_inside(folder: str, how: str):
    """`--probe`: the set-up of `inside`, without a kernel, to learn whether it works here."""
    work, private = Path(folder) / "work", Path(folder) / "private"
    work.mkdir()
    private.mkdir()
    enter(None, work, private)
    drop_privileges([work, private], as_root=how == "root")
    (work / "written").write_text("ok")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["--inside"]:
            inside(argv[1], argv[2], argv[3])
        elif argv[:1] == ["--probe"]:
            probe_inside(argv[1], argv[2])
        else:
            outside(argv[-1])
    except SandboxError as error:
        raise SystemExit(f"[genlab sandbox] {error}") from None


if __name__ == "__main__":
    main()
