"""`genlab grade --claim`: several `genlab grade` processes (standing in for machines) share one course folder and one
Postgres gradebook, and claim submissions through it. Each submission is graded once, a student never twice at once,
the scores are those of a serial run, and a claim whose holder was killed is taken over.

Every answer cell writes a line when its kernel runs it (to a folder shared with the sandbox), so the tests count
the real grading runs, and see their times, not only what `genlab grade` printed."""

import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from test_grading_at_scale import KILLER, RIGHT, WRONG, pid_file_for_kernel, points, postgres, probe_course, submit_probe  # noqa: F401

from genlab.course import cli, grade, nbgrader

OUTCOME_LINE = re.compile(r"^  (\S+)  (\S+)\s+[\d.]+ s  (graded|UNGRADED)", re.M)


def marked(answer: str, marks: Path, student: str, lesson: str, sleep_s: float = 1.0) -> str:
    """The answer, preceded by a line that records when a kernel ran it (start and end, to see overlaps)."""
    return (f"import time as _t\n_m = open({str(marks)!r}, 'a')\n_m.write(f'{student} {lesson} start {{_t.time()}}\\n')\n"
            f"_m.flush()\n_t.sleep({sleep_s})\n_m.write(f'{student} {lesson} end {{_t.time()}}\\n')\n_m.close()\n"
            + answer)


def add_lesson(course: Path, lesson: str):
    """A second assignment, the probe's copy: two lessons of one student must never be graded at once."""
    notebook = (course / "source" / "probe" / "probe.ipynb").read_text()
    (course / "source" / lesson).mkdir(parents=True)
    (course / "source" / lesson / f"{lesson}.ipynb").write_text(notebook)


def submit(course: Path, lesson: str, student: str, answer: str):
    notebook = nbformat.read(course / "source" / lesson / f"{lesson}.ipynb", as_version=4)
    notebook.cells[0].source = answer
    grade.submit(course, lesson, student, notebook)


def start_claim_run(course: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as handle:
        return subprocess.Popen([sys.executable, "-m", "genlab", "grade", "--course", str(course), "--claim",
                                 "--jobs", "1"], stdout=handle, stderr=subprocess.STDOUT, text=True)


def wait(runs: list, logs: list, seconds: float = 1200):  # a guard against a hang; a busy machine is slow
    deadline = time.monotonic() + seconds
    for run in runs:
        try:
            run.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in runs:
                other.kill()
            pytest.fail("a `genlab grade --claim` did not end:\n" + "\n---\n".join(log.read_text()[-3000:] for log in logs))


def printed_outcomes(logs: list) -> list:
    """(lesson, student) of every outcome line the runs printed: one per finished grade."""
    return sorted((lesson, student) for log in logs for lesson, student, _ in OUTCOME_LINE.findall(log.read_text()))


def kernel_runs(marks: Path) -> dict:
    """(student, lesson) -> [(start, end or None)] of every kernel that ran the answer cell."""
    runs = {}
    for line in marks.read_text().splitlines():
        student, lesson, what, when = line.split()
        if what == "start":
            runs.setdefault((student, lesson), []).append([float(when), None])
        else:
            runs[(student, lesson)][-1][1] = float(when)
    return runs


def overlapping_students(runs: dict) -> list:
    """Students two of whose kernel runs overlapped in time."""
    by_student = {}
    for (student, _), spans in runs.items():
        by_student.setdefault(student, []).extend((start, end or start) for start, end in spans)
    found = []
    for student, spans in by_student.items():
        spans.sort()
        if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])):
            found.append(student)
    return found


def claims_table(url: str) -> dict:
    import psycopg2

    with psycopg2.connect(url.replace("+psycopg2", "")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT lesson, student, queued, takes, taken_by, status FROM genlab_claims")
        return {(lesson, student): {"queued": queued, "takes": takes, "taken_by": taken_by, "status": status}
                for lesson, student, queued, takes, taken_by, status in cursor.fetchall()}


def statuses(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as handle:
        return {(row["assignment"], row["student_id"]): (row["status"], row["score"]) for row in csv.DictReader(handle)}


# ---------------------------------------------------------------------------------------------------- refusals
def test_claim_refuses_a_sqlite_gradebook_and_slurm(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(nbgrader.GRADEBOOK_URL_VARIABLE, raising=False)
    course = probe_course(tmp_path / "course")
    submit_probe(course, "ann", RIGHT)
    with pytest.raises(SystemExit, match="--claim needs a shared Postgres gradebook.*sqlite.*GENLAB_GRADEBOOK_URL"):
        cli.main(["grade", "--course", str(course), "--claim"])
    assert not (course / "release").exists(), "refused before preparing anything"
    with pytest.raises(SystemExit):
        cli.main(["grade", "--course", str(course), "--claim", "--slurm"])
    assert "--claim and --slurm do not go together" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- two machines
# ann first in the queue, with two lessons: the second run's worker would take her other lesson at once if nothing
# kept a student to one grader
SUBMISSIONS = [("probe", "ann", RIGHT), ("probe2", "ann", WRONG), ("probe", "bob", WRONG), ("probe", "cyd", RIGHT),
               ("probe", "kim", KILLER)]


def test_two_claim_runs_grade_each_submission_once(postgres, tmp_path, tmp_path_factory, monkeypatch):  # noqa: F811
    marks = pid_file_for_kernel(tmp_path_factory, monkeypatch)
    serial, shared = probe_course(tmp_path / "serial"), probe_course(tmp_path / "shared")
    for course in (serial, shared):
        add_lesson(course, "probe2")
        for lesson, student, answer in SUBMISSIONS:
            submit(course, lesson, student, marked(answer, marks, student, lesson))
    monkeypatch.delenv(nbgrader.GRADEBOOK_URL_VARIABLE, raising=False)
    expected = grade.grade_course(serial, jobs=1)  # SQLite, one process: the reference
    expected_points = {lesson: points_of(serial, lesson) for lesson in ("probe", "probe2")}
    marks.unlink()

    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, postgres)
    logs = [tmp_path / "machine-a.log", tmp_path / "machine-b.log"]
    start = time.monotonic()
    runs = [start_claim_run(shared, log) for log in logs]
    wait(runs, logs)
    seconds = time.monotonic() - start
    outputs = [log.read_text() for log in logs]
    print(f"two claim runs: {seconds:.0f} s\n" + "\n---\n".join(outputs))

    everything = sorted((lesson, student) for lesson, student, _ in SUBMISSIONS)
    assert printed_outcomes(logs) == everything, "each submission graded exactly once, by one of the two runs"
    assert all(OUTCOME_LINE.search(output) for output in outputs), "both runs graded some: the work was shared"
    assert sum("claim: opened the round" in output for output in outputs) == 1, "one opened, the other joined"
    kernels = kernel_runs(marks)
    assert {key: len(spans) for key, spans in kernels.items()} == \
        {(student, lesson): 2 if student == "kim" else 1 for lesson, student, _ in SUBMISSIONS}, \
        "one kernel per submission (two for the one whose kernel dies: retried once)"
    assert not overlapping_students(kernels), "a student's two lessons were graded at the same time"
    assert [run.returncode for run in runs] == [1, 1], "kim is ungraded, and both runs say so"
    for output in outputs:
        assert "UNGRADED probe kim" in output, "every run's summary has everyone's outcomes"

    assert {lesson: points_of(shared, lesson) for lesson in ("probe", "probe2")} == expected_points
    assert statuses(shared) == statuses(serial), "the exports hold everyone's grades, as a serial run's"
    status = json.loads((shared / "grading_status.json").read_text())
    assert status["probe"]["kim"]["status"] == "ungraded" and status["probe2"]["ann"]["status"] == "graded"
    assert [o.student for o in expected["ungraded"]] == ["kim"]

    # --only-new across machines: nothing changed, so nothing is graded again; a resubmission is
    submit(shared, "probe", "cyd", WRONG)
    again = grade.grade_course(shared, jobs=1, claim=True, only_new=True)
    assert [(o.lesson, o.student) for o in again["outcomes"]] == [("probe", "cyd"), ("probe", "kim")]
    assert len(again["skipped"]) == 3
    assert points_of(shared, "probe")["cyd"] == 1.0


def points_of(course: Path, lesson: str) -> dict:
    return {student: result["auto"] for student, result in nbgrader.scores(course, lesson).items()}


def test_a_claim_whose_holder_was_killed_is_taken_over(postgres, tmp_path, tmp_path_factory, monkeypatch):  # noqa: F811
    """The run that claims "aaa" (first in the queue, slow) is killed with its graders while grading it, as when a
    machine goes down: Postgres drops its session and its lock, and the other run grades "aaa"."""
    marks = pid_file_for_kernel(tmp_path_factory, monkeypatch)
    monkeypatch.setenv(nbgrader.GRADEBOOK_URL_VARIABLE, postgres)
    course = probe_course(tmp_path / "course")
    submit(course, "probe", "aaa", marked(RIGHT, marks, "aaa", "probe", sleep_s=6))
    for student in ("bob", "cyd", "dee"):
        submit(course, "probe", student, marked(WRONG, marks, student, "probe"))
    logs = [tmp_path / "machine-a.log", tmp_path / "machine-b.log"]
    runs = [start_claim_run(course, log) for log in logs]
    holder = None
    for _ in range(1800):
        try:
            claim = claims_table(postgres).get(("probe", "aaa"))
        except Exception:  # the table is made by the first run
            claim = None
        if claim and claim["queued"] and claim["taken_by"] and marks.exists() and "aaa probe start" in marks.read_text():
            holder = int(claim["taken_by"].split()[-1])
            break
        time.sleep(0.1)
    if holder is None:
        for run in runs:
            run.kill()
        pytest.fail("nobody claimed aaa:\n" + "\n---\n".join(log.read_text()[-3000:] for log in logs))
    [victim] = [run for run in runs if run.pid == holder]
    tree = [psutil.Process(holder), *psutil.Process(holder).children(recursive=True)]
    for process in tree:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    survivor = next(run for run in runs if run is not victim)
    wait([victim, survivor], logs, seconds=420)  # a claim never taken over would keep the survivor waiting
    outputs = [log.read_text() for log in logs]
    print("\n---\n".join(outputs))

    assert survivor.returncode == 0, outputs[runs.index(survivor)][-3000:]
    assert printed_outcomes(logs) == [("probe", s) for s in ("aaa", "bob", "cyd", "dee")], \
        "each graded once: aaa by the survivor, none again"
    assert "probe  aaa" in outputs[runs.index(survivor)]
    assert len(kernel_runs(marks)[("aaa", "probe")]) == 2, "started by the killed run, then by the survivor"
    claim = claims_table(postgres)[("probe", "aaa")]
    assert (claim["queued"], claim["takes"], claim["status"]) == (False, 2, "graded")
    assert str(survivor.pid) in claim["taken_by"]
    assert points(course) == {"aaa": 2.0, "bob": 1.0, "cyd": 1.0, "dee": 1.0}
    assert {key: status for key, (status, _) in statuses(course).items()} == \
        {("probe", s): "graded" for s in ("aaa", "bob", "cyd", "dee")}
