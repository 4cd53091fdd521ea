"""`genlab grade --slurm` against a real single-node Slurm started by the test: munged, slurmctld and slurmd as root
with a minimal slurm.conf in a temporary folder, two stand-in GPUs (character devices) as gres, the gradebook in a
throw-away Postgres. Every daemon is stopped by PID. Slurm and munge are installed with apt when missing; the test
skips, saying why, only where that is impossible.

Three submissions of the probe assignment (right, wrong, a kernel that dies) as an array job with --gres=gpu:1,
then the afterany job: same scores as --jobs, the dead kernel ungraded, one GPU per task, the exports written."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from test_grading_at_scale import KILLER, RIGHT, WRONG, points, postgres, probe_course, submit_probe  # noqa: F401

from genlab.course import cli, nbgrader

DAEMONS = ("munged", "slurmctld", "slurmd")


def _find(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name,) if p.exists()), None)


def _install():
    """Debian's slurm-wlm and munge, as .ci/run installs them: only where missing, only as root."""
    if all(_find(d) for d in DAEMONS) and shutil.which("sbatch"):
        return ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "slurm-wlm and munge are not installed, and installing them needs root and apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
        run = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"],
                             capture_output=True, text=True, env=env)
    return "" if run.returncode == 0 else f"apt-get install slurm-wlm munge failed: {run.stderr.strip()[-300:]}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(condition, seconds: float, what: str, logs=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {log}:\n{Path(log).read_text()[-1500:]}" for log in logs if Path(log).exists())
    raise RuntimeError(f"{what} within {seconds:.0f} s\n{tails}")


@pytest.fixture
def slurm_cluster():
    """A one-node cluster in a temporary folder; yields the environment its clients need (SLURM_CONF)."""
    if os.geteuid() != 0:
        pytest.skip("the single-node Slurm runs its daemons as root; run this test as root")
    why = _install()
    if why:
        pytest.skip(why)
    folder = Path(tempfile.mkdtemp(prefix="genlab-slurm-"))
    host = socket.gethostname().split(".")[0]
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    (folder / "munge").mkdir(mode=0o755)
    munge_socket = folder / "munge" / "munge.socket"
    for index in range(2):  # stand-in GPUs: slurmd only checks that each gres File is a device
        os.mknod(folder / f"gpu{index}", 0o666 | 0o020000, os.makedev(1, 3))
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    conf = folder / "slurm.conf"
    conf.write_text(f"""ClusterName=genlabtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=grade Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    (folder / "gres.conf").write_text(f"NodeName={host} Name=gpu File={folder}/gpu[0-1]\n")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    logs = [folder / "munged.log", folder / "slurmctld.log", folder / "slurmd.log"]
    started = []
    try:
        started.append(subprocess.Popen(
            [_find("munged"), "--foreground", "--force", f"--key-file={key}", f"--socket={munge_socket}",
             f"--pid-file={folder}/munged.pid", f"--log-file={logs[0]}", f"--seed-file={folder}/munge.seed"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        _wait(munge_socket.exists, 20, "munged did not open its socket", logs)
        started.append(subprocess.Popen([_find("slurmctld"), "-D", "-i", "-f", str(conf)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        started.append(subprocess.Popen([_find("slurmd"), "-D", "-f", str(conf)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))

        def idle():
            run = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env)
            return run.stdout.strip() == "idle"

        _wait(idle, 60, "the node did not become idle", logs)
        yield {"SLURM_CONF": str(conf), "folder": folder}
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_slurm_array_grades_one_submission_per_task_then_exports(slurm_cluster, postgres, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLURM_CONF", slurm_cluster["SLURM_CONF"])
    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, postgres)  # the tasks inherit it (--export=ALL)
    course = probe_course(tmp_path / "course")
    for student, answer in (("right", RIGHT), ("wrong", WRONG), ("killer", KILLER)):
        submit_probe(course, student, answer)
    # the node has this machine's cores; --sbatch-arg overrides the scripts' 4 CPUs per task, as a site would
    assert cli.main(["grade", "--course", str(course), "--slurm", "--timeout", "120",
                     "--sbatch-arg=--cpus-per-task=1"]) == 0
    [run_dir] = (course / "slurm_run").iterdir()

    def finished():
        return (run_dir / "finish.out").exists() and "grades (moodle)" in (run_dir / "finish.out").read_text()

    _wait(finished, 240, "the final job did not finish",
          [run_dir / "finish.out", *sorted(run_dir.glob("task-*.out")), slurm_cluster["folder"] / "slurmctld.log"])
    assert {s: p for s, p in points(course).items() if s != "killer"} == {"right": 2.0, "wrong": 1.0}
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert (rows["killer"]["status"], rows["killer"]["score"]) == ("ungraded", ""), rows["killer"]
    assert "Kernel died" in rows["killer"]["reason"]
    assert rows["right"]["status"] == "graded" and (course / "feedback" / "right" / "probe" / "probe.html").exists()
    outcomes = [json.loads(p.read_text()) for p in sorted((run_dir / "outcomes").glob("*.json"))]
    assert len(outcomes) == 3 and all(o["gpu"] in ("0", "1") for o in outcomes), "each task got one GPU of two"
    assert len({o["job"] for o in outcomes}) == 3, "one array task per submission"
    assert sorted(p.name for p in run_dir.glob("task-*.out")) == ["task-0.out", "task-1.out", "task-2.out"]


def test_task_time_limits_and_a_missing_sbatch(tmp_path, monkeypatch):
    from genlab.course import slurm

    assert slurm.task_time_limit(None) == "02:00:00", "no --timeout: two hours, the per-cell limit still applies"
    assert slurm.task_time_limit(900) == "00:32:00", "two attempts of 15 min plus 2 min of start-up"
    assert slurm.task_time_limit(3600) == "02:02:00"
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="--slurm needs `sbatch` on PATH"):
        slurm.submit(probe_course(tmp_path / "course"))
