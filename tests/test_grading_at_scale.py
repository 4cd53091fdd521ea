"""Grading a course at scale: parallel autograding equals serial, a crashed or timed-out grade is reported ungraded
(never 0), --only-new skips unchanged submissions, roster students who did not submit are exported as missing,
late work loses points by the course's policy, and the LMS exports hold one row per student.

The nbgrader tests grade a 3-cell probe assignment (2 points) in a temporary course folder: seconds per submission."""

import csv
import multiprocessing
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from genlab.course import build, cli, course_config, grade, grading_status, late, nbgrader, parallel, roster, sandbox

RIGHT = "def answer():\n    return 42"
WRONG = "def answer():\n    return 41"
KILLER = "import os\nos.kill(os.getpid(), 9)  # the kernel dies, as after a segfault or the OOM killer"


def _cell(source, grade_id, **meta):
    return new_code_cell(source, metadata={"nbgrader": build.normalise_nbgrader({"grade_id": grade_id, **meta}, "")})


def probe_course(path: Path) -> Path:
    """A course folder with assignment "probe": an answer cell, a test of it (1 point), an independent test (1)."""
    course = nbgrader.fresh_course(path)
    source = new_notebook(cells=[
        _cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION", "answer", solution=True),
        _cell("assert answer() == 42", "test_answer", points=1),
        _cell("assert 1 + 1 == 2", "test_later", points=1),
    ], metadata={"kernelspec": build.KERNELSPEC})
    build.write_notebook(source, course / "source" / "probe" / "probe.ipynb")
    return course


def submit_probe(course: Path, student: str, answer: str, timestamp: str | None = None):
    """A submission as nbgrader collect leaves it: the notebook (answer cell replaced) and, if given, timestamp.txt."""
    notebook = nbformat.read(course / "source" / "probe" / "probe.ipynb", as_version=4)
    notebook.cells[0].source = answer
    grade.submit(course, "probe", student, notebook)
    if timestamp:
        (course / "submitted" / student / "probe" / "timestamp.txt").write_text(timestamp)


def read_csv(path: Path) -> list:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def long_rows(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def points(course: Path) -> dict:
    return {student: result["auto"] for student, result in nbgrader.scores(course, "probe").items()}


# ---------------------------------------------------------------------------------------------------- nbgrader runs
def test_a_looping_cell_times_out_and_grading_goes_on(tmp_path):
    """nbgrader's per-cell limit: the endless loop is interrupted and the cells after it are still graded."""
    course = probe_course(tmp_path / "course")
    nbgrader.command(["generate_assignment", "probe", "--force"], course)
    submit_probe(course, "looper", RIGHT + "\n\nwhile True:  # a student's endless loop\n    pass")
    nbgrader.autograde(course, "probe", ["--Execute.timeout=5"])
    cells = nbgrader.scores(course, "probe")["looper"]["cells"]
    assert cells["test_later"] == (1.0, 1.0), "cells after the interrupted one still run"
    graded = nbformat.read(course / "autograded" / "looper" / "probe" / "probe.ipynb", as_version=4)
    assert any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in graded.cells[0].outputs)


def grade_both_ways(base: Path) -> dict:
    """The same three submissions graded serially (through the command line) and with 2 workers; the parallel course
    also holds a submission whose kernel dies, a late one, and a roster with a student who never submitted."""
    serial, parallel_course = probe_course(base / "serial"), probe_course(base / "parallel")
    for course in (serial, parallel_course):
        submit_probe(course, "right", RIGHT)
        submit_probe(course, "wrong", WRONG)
        submit_probe(course, "blank", "def answer():\n    raise NotImplementedError()")
    submit_probe(parallel_course, "killer", KILLER)
    submit_probe(parallel_course, "late", RIGHT, timestamp="2027-01-02 12:00:00 UTC")  # 36 h after the due date
    (parallel_course / "course.toml").write_text(
        '[due_dates]\nprobe = "2027-01-01 00:00"\n"02_gan" = "2027-03-01 00:00"\n'
        '[late_penalty]\npercent_per_day = 10\nzero_after_days = 7\n'
        '[roster]\nfile = "roster.csv"\n')
    (parallel_course / "roster.csv").write_text(
        "id,first_name,last_name,email,section\nright,Rita,Right,rita@example.edu,A\n"
        "absent,Abe,Sent,abe@example.edu,B\nkiller,Kim,Iller,kim@example.edu,B\n")

    start = time.monotonic()
    exit_code = cli.main(["grade", "--course", str(serial), "--jobs", "1"])
    serial_seconds = time.monotonic() - start
    start = time.monotonic()
    result = grade.grade_course(parallel_course, jobs=2)
    return {"serial": serial, "parallel": parallel_course, "result": result, "exit_code": exit_code,
            "seconds": (serial_seconds, time.monotonic() - start)}


def _parallel_grading_gives_the_serial_scores(graded):
    assert graded["exit_code"] == 0, "the serial run graded everything, so `genlab grade` exits 0"
    serial, parallel_points = points(graded["serial"]), points(graded["parallel"])
    assert serial == {"right": 2.0, "wrong": 1.0, "blank": 1.0}
    assert {s: parallel_points[s] for s in serial} == serial
    assert parallel_points["late"] == 2.0, "the penalty is separate from the points earned"
    for course in (graded["serial"], graded["parallel"]):
        assert (course / "feedback" / "right" / "probe" / "probe.html").exists()


def _a_killed_kernel_is_retried_then_reported_ungraded_not_zero(graded):
    [killed] = graded["result"]["ungraded"]
    assert (killed.student, killed.attempts) == ("killer", 2)
    assert "Kernel died" in killed.reason, killed.reason
    row = long_rows(graded["parallel"])["killer"]
    assert (row["status"], row["score"], row["raw_score"]) == ("ungraded", "", ""), row
    assert "Kernel died" in row["reason"]
    assert not (graded["parallel"] / "feedback" / "killer").exists(), "no feedback page showing 0 points"
    assert not (graded["parallel"] / "autograded" / "killer" / "probe").exists()
    canvas = {row[2]: row for row in read_csv(graded["parallel"] / "grades_canvas.csv")[2:]}
    assert canvas["killer"][5] == "", "an ungraded submission must not reach the LMS as 0"


def _roster_students_who_did_not_submit_are_missing(graded):
    rows = long_rows(graded["parallel"])
    assert (rows["absent"]["status"], rows["absent"]["score"], rows["absent"]["section"]) == ("missing", "", "B")
    assert (rows["right"]["first_name"], rows["right"]["email"], rows["right"]["status"]) == \
        ("Rita", "rita@example.edu", "graded")
    assert rows["wrong"]["status"] == "graded" and rows["wrong"]["section"] == "", "submitted but not on the roster"


def _late_work_is_flagged_and_loses_the_policy_penalty(graded):
    row = long_rows(graded["parallel"])["late"]
    # 36 h late = 2 started days at 10 % a day: 20 % of 2 points
    assert (row["raw_score"], row["late_submission_penalty"], row["score"], row["late"]) == \
        ("2.0", "0.4", "1.6", "late by 36.0 h"), row
    assert row["timestamp"] == "2027-01-02 12:00:00", "the collected timestamp is kept"
    assert long_rows(graded["parallel"])["right"]["late"] == "", "no timestamp.txt: not late"


def _lms_exports_have_one_row_per_student_and_one_column_per_lesson(graded):
    canvas = read_csv(graded["parallel"] / "grades_canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "probe"], \
        "02_gan has a due date but no submissions yet: no column (everyone would be missing)"
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == "2.0"
    by_id = {row[2]: row for row in canvas[2:]}
    assert [row[2] for row in canvas[2:5]] == ["right", "absent", "killer"], "roster order first"
    assert set(by_id) == {"right", "absent", "killer", "wrong", "blank", "late"}
    assert (by_id["right"][0], by_id["right"][4], by_id["right"][5]) == ("Right, Rita", "A", "2.0")
    assert by_id["late"][5] == "1.6" and by_id["absent"][5] == ""
    moodle = read_csv(graded["parallel"] / "grades_moodle.csv")
    assert moodle[0] == ["ID number", "First name", "Last name", "Email address", "probe"]
    assert ["right", "Rita", "Right", "rita@example.edu", "2.0"] in moodle


def _only_new_regrades_changed_and_ungraded_submissions_only(graded):
    course = graded["parallel"]
    submit_probe(course, "wrong", RIGHT)  # a resubmission
    result = grade.grade_course(course, jobs=2, only_new=True, students=["w*", "r*", "killer"])
    assert sorted(result["skipped"]) == [("probe", "right")]
    assert sorted(o.student for o in result["outcomes"]) == ["killer", "wrong"], "the ungraded one is tried again"
    assert points(course)["wrong"] == 2.0


def _a_failed_regrade_drops_the_earlier_feedback_and_score(graded):
    course = graded["parallel"]
    assert (course / "feedback" / "blank" / "probe" / "probe.html").exists()
    submit_probe(course, "blank", KILLER)  # a resubmission whose grade fails
    result = grade.grade_course(course, jobs=1, students=["blank"])
    assert [o.student for o in result["ungraded"]] == ["blank"]
    assert not (course / "feedback" / "blank" / "probe").exists(), "the old page showed points for the old notebook"
    assert (long_rows(course)["blank"]["status"], long_rows(course)["blank"]["score"]) == ("ungraded", "")


CHECKS = [_parallel_grading_gives_the_serial_scores, _a_killed_kernel_is_retried_then_reported_ungraded_not_zero,
          _roster_students_who_did_not_submit_are_missing, _late_work_is_flagged_and_loses_the_policy_penalty,
          _lms_exports_have_one_row_per_student_and_one_column_per_lesson,
          _only_new_regrades_changed_and_ungraded_submissions_only,
          _a_failed_regrade_drops_the_earlier_feedback_and_score]  # last: these two resubmit


def test_grading_a_course_in_parallel(tmp_path):
    """One test grades once and runs every check on it (pytest-xdist would build a shared fixture once per worker);
    every failing check is reported, not only the first."""
    graded = grade_both_ways(tmp_path)
    problems = []
    for check in CHECKS:
        try:
            check(graded)
        except AssertionError as failure:
            problems.append(f"{check.__name__}: {failure}")
    assert not problems, "\n\n".join(problems)


def pid_file_for_kernel(tmp_path_factory, monkeypatch) -> Path:
    """A file the kernel can write its pids to: a folder of its own, shared with the sandbox (which hides the rest of
    /tmp, the course folder included)."""
    folder = tmp_path_factory.mktemp("shared")
    monkeypatch.setenv(sandbox.SHARE_VARIABLE, str(folder))
    return folder / "pids"


def test_a_submission_past_its_wall_clock_limit_is_killed_with_its_kernel(tmp_path, tmp_path_factory, monkeypatch):
    """The kernel runs in a session of its own and would outlive nbgrader's process group, and so would what it
    started (here a child process: think DataLoader workers). All of it must die at the limit."""
    course = probe_course(tmp_path / "course")
    pid_file = pid_file_for_kernel(tmp_path_factory, monkeypatch)
    submit_probe(course, "sleeper", "import os, subprocess, time\nchild = subprocess.Popen(['sleep', '3600'])\n"
                                    f"open({str(pid_file)!r}, 'a').write(f'{{os.getpid()}} {{child.pid}}\\n')\n"
                                    "time.sleep(3600)  # no cell timeout stops this before the submission's limit")
    result = grade.grade_course(course, jobs=1, timeout_s=20)  # the sandboxed kernel starts in a few s on a busy machine
    [outcome] = result["ungraded"]
    assert "20 s limit per submission" in outcome.reason and outcome.attempts == 2
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 4, "two attempts, each a kernel and its child"
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running after the limit: {[psutil.Process(p).cmdline() for p in alive]}"
    assert long_rows(course)["sleeper"]["status"] == "ungraded"


def test_ctrl_c_stops_the_graders_and_their_kernels(tmp_path, tmp_path_factory, monkeypatch):
    """Graders run in sessions of their own (to be killable as a tree), so a terminal's Ctrl-C reaches only
    `genlab grade`; it must stop them rather than leave them grading in the background."""
    course = probe_course(tmp_path / "course")
    pid_file = pid_file_for_kernel(tmp_path_factory, monkeypatch)
    submit_probe(course, "sleeper", "import os, subprocess, time\nchild = subprocess.Popen(['sleep', '3600'])\n"
                                    f"open({str(pid_file)!r}, 'a').write(f'{{os.getpid()}} {{child.pid}}\\n')\n"
                                    "time.sleep(3600)")
    # Output to a file, and wait for the process itself: a pipe would also wait for any descendant that inherited it,
    # and a failure here must say whether `genlab grade` hung or something else held its output.
    log_path = tmp_path / "grade.log"
    # A terminal's foreground job takes Ctrl-C. A job started in the background by a non-interactive shell (`cmd &`)
    # inherits SIGINT ignored, and so would `genlab grade` through this worker: start it as the terminal would.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with open(log_path, "w") as log:
            run = subprocess.Popen([sys.executable, "-m", "genlab", "grade", "--course", str(course)], stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    for _ in range(1200):
        if pid_file.exists() and len(pid_file.read_text().split()) == 2:
            break
        time.sleep(0.1)
    else:
        run.kill()
        run.wait()
        pytest.fail(f"the sleeper never started: {log_path.read_text()[-2000:]}")
    run.send_signal(signal.SIGINT)
    try:
        run.wait(timeout=60)
    except subprocess.TimeoutExpired:
        tree = [" ".join(p.cmdline()) for p in psutil.Process(run.pid).children(recursive=True)]
        ignored = [line for line in Path(f"/proc/{run.pid}/status").read_text().splitlines() if line.startswith("SigIgn")]
        run.kill()
        pytest.fail(f"genlab grade still ran 60 s after Ctrl-C ({ignored}; SIGINT ignored if bit 0x2 is set); its "
                    f"processes: {tree}\n{log_path.read_text()[-2000:]}")
    output = log_path.read_text()
    assert run.returncode == 130 and "interrupted" in output, output[-2000:]
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 2, "no second attempt after Ctrl-C"
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, "kernel or its child still running after Ctrl-C"


# ---------------------------------------------------------------------------------------------------- the gradebook
def _write_students(url: str, prefix: str, count: int, failures):
    from nbgrader.api import Gradebook

    try:
        for i in range(count):
            with Gradebook(url) as gradebook:
                gradebook.update_or_create_student(f"{prefix}-{i}", first_name=prefix)
    except Exception as error:  # reported to the parent, which asserts on it
        failures.put(f"{type(error).__name__}: {error}")


def test_sqlite_gradebook_takes_concurrent_writers(tmp_path, monkeypatch):
    """Parallel graders write to one SQLite file; pysqlite waits only 5 s for the write lock by default. The URL
    genlab gives nbgrader raises that wait, and `prepare_gradebook` creates the rows graders would race for."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # nbgrader's alembic
    course = nbgrader.fresh_course(tmp_path)
    url = nbgrader.gradebook_url(course)
    assert url.startswith("sqlite:///") and f"timeout={nbgrader.SQLITE_BUSY_TIMEOUT_S}" in url
    nbgrader.prepare_gradebook(course, {"s": {}}, {})
    failures = multiprocessing.get_context("fork").Queue()
    writers = [multiprocessing.get_context("fork").Process(target=_write_students, args=(url, f"w{w}", 15, failures))
               for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert failures.empty(), failures.get()
    with nbgrader.open_gradebook(course) as gradebook:
        assert len(gradebook.students) == 1 + 4 * 15


def test_the_gradebook_url_comes_from_the_environment_first(tmp_path, monkeypatch):
    course = nbgrader.fresh_course(tmp_path)
    (course / "course.toml").write_text('[gradebook]\nurl = "postgresql://grader@/from_config"\n')
    assert nbgrader.gradebook_url(course) == "postgresql://grader@/from_config"
    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, "postgresql://grader@/from_env")
    assert nbgrader.gradebook_url(course) == "postgresql://grader@/from_env"
    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, "postgresql+psycopg2://grader:secret@db/genlab")
    assert nbgrader.gradebook_shown(course) == "postgresql+psycopg2://grader:***@db/genlab", "never print a password"


# ---------------------------------------------------------------------------------------------------- scheduling
def test_workers_each_get_one_gpu_and_share_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    envs = [parallel.worker_environment(w, 4, ["0", "1"]) for w in range(4)]
    assert [env["CUDA_VISIBLE_DEVICES"] for env in envs] == ["0", "1", "0", "1"]
    assert "CUDA_VISIBLE_DEVICES" not in parallel.worker_environment(0, 2, [])
    assert parallel.worker_environment(0, 2, [])["OMP_NUM_THREADS"] == str(max(1, os.cpu_count() // 2))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert parallel.gpu_ids() == ["2", "3"], "workers stay on the GPUs the caller allowed"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert parallel.gpu_ids() == []


def test_a_student_is_never_graded_twice_at_once_and_failures_are_retried_once(monkeypatch, tmp_path):
    running, overlaps, attempts, lock = set(), [], {}, threading.Lock()

    def fake_grade_one(course_dir, lesson, student, timeout_s, env, nbgrader_args=()):
        with lock:
            if student in running:
                overlaps.append((lesson, student))
            running.add(student)
            attempts[(lesson, student)] = attempts.get((lesson, student), 0) + 1
            tries = attempts[(lesson, student)]
        time.sleep(0.05)
        with lock:
            running.discard(student)
        if student == "flaky" and tries == 1:
            return "kernel failed to start"
        return "always broken" if student == "broken" else ""

    monkeypatch.setattr(parallel, "grade_one", fake_grade_one)
    submissions = [(f"{n:02d}_lesson", s) for n in range(1, 6) for s in ("ann", "bob", "flaky", "broken")]
    outcomes = parallel.grade_submissions(tmp_path, submissions, jobs=4, gpus=[])
    assert not overlaps, f"graded twice at once: {overlaps}"
    assert len(outcomes) == len(submissions)
    by_student = {}
    for outcome in outcomes:
        by_student.setdefault(outcome.student, set()).add((outcome.graded, outcome.attempts, outcome.reason))
    assert by_student["flaky"] == {(True, 2, "")}
    assert by_student["broken"] == {(False, 2, "always broken")}
    assert by_student["ann"] == {(True, 1, "")}


# ---------------------------------------------------------------------------------------------------- bad input
def test_bad_input_says_what_is_wrong_and_what_to_do(tmp_path):
    course = probe_course(tmp_path / "course")
    with pytest.raises(SystemExit, match="nothing to grade: put submissions in"):
        grade.find_submissions(course)
    submit_probe(course, "ann", RIGHT)
    with pytest.raises(SystemExit, match="'02_gam' is not a lesson of this course; lessons: .*02_gan"):
        grade.find_submissions(course, lessons=["02_gam"])
    with pytest.raises(SystemExit, match=r"--student 'z\*' matches no student with submissions; students who "
                                         "submitted: ann"):
        grade.find_submissions(course, students=["z*"])
    assert grade.find_submissions(course, lessons=["pro*"], students=["a?n"]) == [("probe", "ann")]
    (course / "submitted" / "ann" / "99_typo").mkdir()
    (course / "submitted" / "ann" / "99_typo" / "99_typo.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="unknown lesson.*99_typo"):
        grade.find_submissions(course)
    bad_roster = tmp_path / "roster.csv"
    bad_roster.write_text("id,first_name,email,section\nann,Ann,ann@example.edu,A\n")
    with pytest.raises(SystemExit, match="lacks the column.*last_name"):
        roster.read(bad_roster)
    bad_roster.write_text('id,first_name,last_name,email,section\nann,"Ann, Jr.",Smith,ann@example.edu,A\n')
    with pytest.raises(SystemExit, match="line 2: first_name contains a comma"):
        roster.read(bad_roster)
    with pytest.raises(SystemExit, match="no roster at"):
        grade.load_roster(course, tmp_path / "absent.csv")
    (course / "course.toml").write_text('[due_dates]\nprobe = "next friday"\n')
    with pytest.raises(SystemExit, match="due date of probe is 'next friday'"):
        grade.load_roster(course)  # reads course.toml
    with pytest.raises(SystemExit):
        cli.main(["grade", "--course", str(course), "--jobs", "0"])
    with grading_status.sole_grader(course):
        with pytest.raises(SystemExit, match=rf"another `genlab grade` \(pid {os.getpid()}\) is grading in"):
            grade.grade_course(course)


def test_the_shipped_roster_example_reads_and_the_late_policy_adds_up():
    students = roster.read(nbgrader.COURSE_DIR / "roster.example.csv")
    assert list(students) == ["ada", "alan", "grace"] and students["grace"].section == "B"
    policy = late.PercentPerDayLate(percent_per_day=10, zero_after_days=7)
    hour, day = 3600, 86400
    assert policy.late_submission_penalty("s", 5.0, hour) == pytest.approx(0.5), "a started day counts"
    assert policy.late_submission_penalty("s", 5.0, 2 * day + hour) == 1.5, "rounded: no 1.5000000000000002"
    assert policy.late_submission_penalty("s", 5.0, 8 * day) == 5.0, "past the limit: everything"
    assert datetime(2027, 1, 1, tzinfo=timezone.utc) == course_config._due_date("x", "2027-01-01 01:00+01:00", "")


# ---------------------------------------------------------------------------------------------------- Postgres
def _postgres_bin() -> Path | None:
    """Where initdb and postgres are: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture
def postgres():
    """A throw-away Postgres cluster in a temporary folder that listens only on a unix socket there (no TCP), stopped
    by PID. Postgres refuses to run as root, so as root it runs as the `postgres` user (Debian's package creates it),
    in a folder of its own under /tmp (pytest's tmp_path is closed to other users)."""
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        pytest.skip("no Postgres binaries (initdb, postgres): `apt-get install postgresql` to run this test")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("no psycopg2: `pip install -e '.[postgres]'` to run this test")
    folder = Path(tempfile.mkdtemp(prefix="genlab-pg-"))
    as_user = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    made = subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust",
                           "-E", "UTF8"], capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(folder)
        raise RuntimeError(f"initdb failed: {made.stdout[-2000:]}{made.stderr[-2000:]}")
    server = subprocess.Popen([*as_user, str(bin_dir / "postgres"), "-D", str(data), "-k", str(folder),
                               "-c", "listen_addresses=", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"))
    try:
        for _ in range(300):
            ready = subprocess.run([str(bin_dir / "pg_isready"), "-h", str(folder), "-U", "grader"], capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"Postgres did not start: {(folder / 'server.log').read_text()[-2000:]}")
        subprocess.run([str(bin_dir / "createdb"), "-h", str(folder), "-U", "grader", "genlab"], check=True)
        yield f"postgresql+psycopg2://grader@/genlab?host={folder}"  # SQLAlchemy 2.1 alone would pick psycopg 3
    finally:
        postmaster = int((data / "postmaster.pid").read_text().split()[0]) if (data / "postmaster.pid").exists() \
            else server.pid
        os.kill(postmaster, signal.SIGINT)  # fast shutdown: ends sessions, writes a checkpoint, exits
        server.wait(timeout=60)
        shutil.rmtree(folder)


def test_parallel_grading_into_a_postgres_gradebook(postgres, tmp_path, monkeypatch):
    import psycopg2

    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, postgres)  # nbgrader subprocesses inherit it
    course = probe_course(tmp_path / "course")
    for student, answer in (("right", RIGHT), ("wrong", WRONG), ("killer", KILLER)):
        submit_probe(course, student, answer)
    result = grade.grade_course(course, jobs=2)
    assert [o.student for o in result["ungraded"]] == ["killer"]
    assert not (course / "gradebook.db").exists(), "everything went to Postgres"
    with psycopg2.connect(postgres.replace("+psycopg2", "")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT student_id FROM submitted_assignment ORDER BY student_id")
        assert [row[0] for row in cursor.fetchall()] == ["killer", "right", "wrong"]
    assert {s: p for s, p in points(course).items() if s != "killer"} == {"right": 2.0, "wrong": 1.0}
    assert long_rows(course)["killer"]["status"] == "ungraded"
