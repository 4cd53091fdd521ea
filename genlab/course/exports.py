"""Grade exports: nbgrader's long CSV with genlab's status columns, and the wide CSVs Canvas and Moodle import.

A score is only written for a submission that was graded to the end. Ungraded (the grader failed or timed out),
missing (in the roster, never submitted) and not-yet-graded submissions get an empty score and say why in the long
CSV, so that no LMS import turns a grader failure into a 0; the instructor decides what a missing one is worth."""

import csv
from datetime import datetime
from pathlib import Path

from genlab.course import grading_status, guarded_cells, nbgrader

STATUS_COLUMNS = ("section", "status", "reason", "late", "review")
SCORE_COLUMNS = ("raw_score", "late_submission_penalty", "score")
NOT_GRADED_YET = "not graded yet"


def _status(course_dir: Path, records: dict, lesson: str, student: str) -> tuple:
    record = records.get(lesson, {}).get(student)
    if record:
        return record["status"], record.get("reason", "")
    if (Path(course_dir) / "submitted" / student / lesson).exists():
        graded_elsewhere = (Path(course_dir) / "autograded" / student / lesson).exists()  # by nbgrader directly
        return (grading_status.GRADED, "") if graded_elsewhere else (NOT_GRADED_YET, "")
    return grading_status.MISSING, "no submission"


def _late(row: dict) -> str:
    if not (row["duedate"] and row["timestamp"]):
        return ""
    seconds = (datetime.fromisoformat(row["timestamp"]) - datetime.fromisoformat(row["duedate"])).total_seconds()
    return f"late by {seconds / 3600:.1f} h" if seconds > 0 else ""


def long_rows(course_dir: Path, roster: dict) -> list:
    """nbgrader's export (one row per lesson and student in the gradebook) plus section, status, reason, late and
    review (answers that reached for the grader's guard, flagged by genlab.course.guarded_cells)."""
    course_dir = Path(course_dir)
    path = nbgrader.export_grades(course_dir, course_dir / ".grades_nbgrader.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    path.unlink()
    records = grading_status.load(course_dir)
    for row in rows:
        status, reason = _status(course_dir, records, row["assignment"], row["student_id"])
        student = roster.get(row["student_id"])
        row.update(section=student.section if student else "", status=status, reason=reason,
                   late=_late(row) if status == grading_status.GRADED else "",
                   review=guarded_cells.review_flags(course_dir, row["assignment"], row["student_id"]))
        if status != grading_status.GRADED:
            row.update({column: "" for column in SCORE_COLUMNS})
    return rows


def _students(rows: list, roster: dict) -> list:
    """Roster order first, then anyone else who submitted, by id."""
    others = sorted({row["student_id"] for row in rows} - set(roster))
    return [*roster, *others]


def _write(path: Path, header: list, body: list) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)
    return path


def write_long(course_dir: Path, rows: list) -> Path:
    header = list(rows[0]) if rows else []
    return _write(Path(course_dir) / "grades.csv", header, [[row[c] for c in header] for row in rows])


def write_canvas(course_dir: Path, rows: list, roster: dict) -> Path:
    """Canvas's gradebook import: Student ("Last, First"), ID (Canvas's own, left empty), SIS User ID, SIS Login ID,
    Section, then one column per lesson, and a "Points Possible" row first. Canvas matches students by SIS id."""
    lessons = sorted({row["assignment"] for row in rows})
    score = {(row["student_id"], row["assignment"]): row["score"] for row in rows}
    top = {row["assignment"]: row["max_score"] for row in rows}
    body = [["Points Possible", "", "", "", "", *(top[lesson] for lesson in lessons)]]
    for student_id in _students(rows, roster):
        student = roster.get(student_id)
        name = f"{student.last_name}, {student.first_name}".strip(", ") if student else student_id
        body.append([name, "", student_id, student_id, student.section if student else "",
                     *(score.get((student_id, lesson), "") for lesson in lessons)])
    return _write(Path(course_dir) / "grades_canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                                           *lessons], body)


def write_moodle(course_dir: Path, rows: list, roster: dict) -> Path:
    """Moodle's CSV grade import: any identifying column mapped to a user field on import ("Email address" or
    "ID number"), then one column per grade item, each mapped to its item."""
    lessons = sorted({row["assignment"] for row in rows})
    score = {(row["student_id"], row["assignment"]): row["score"] for row in rows}
    body = []
    for student_id in _students(rows, roster):
        student = roster.get(student_id)
        body.append([student_id, student.first_name if student else "", student.last_name if student else "",
                     student.email if student else "", *(score.get((student_id, lesson), "") for lesson in lessons)])
    return _write(Path(course_dir) / "grades_moodle.csv", ["ID number", "First name", "Last name", "Email address",
                                                           *lessons], body)


def write_all(course_dir: Path, roster: dict) -> dict:
    rows = long_rows(course_dir, roster)
    return {"long": write_long(course_dir, rows), "canvas": write_canvas(course_dir, rows, roster),
            "moodle": write_moodle(course_dir, rows, roster), "rows": rows}
