"""The course settings nbgrader has no place for, read from course.toml in the course folder: due dates per lesson,
the late-penalty policy, the roster file and the gradebook URL."""

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

FILE_NAME = "course.toml"


@dataclass(frozen=True)
class CourseConfig:
    due_dates: dict = field(default_factory=dict)  # lesson -> aware datetime (UTC)
    late_percent_per_day: float = 0.0  # of the earned score, per started day late
    late_zero_after_days: float | None = None  # later than this: the whole score
    roster: Path | None = None
    gradebook_url: str | None = None
    secret_file: Path | None = None  # per-course hidden-test seeds (genlab.course.guard); git-ignored, never published


def _due_date(lesson: str, text: str, path: Path) -> datetime:
    try:
        due = datetime.fromisoformat(str(text))
    except ValueError:
        raise SystemExit(f"{path}: due date of {lesson} is {text!r}; write it as \"2027-02-01 23:59\" "
                         "(UTC, or with an offset such as +01:00).") from None
    return due.replace(tzinfo=timezone.utc) if due.tzinfo is None else due.astimezone(timezone.utc)


def load(course_dir: Path) -> CourseConfig:
    path = Path(course_dir) / FILE_NAME
    if not path.exists():
        return CourseConfig()
    try:
        settings = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SystemExit(f"{path} is not valid TOML: {error}") from None
    late = settings.get("late_penalty", {})
    roster = settings.get("roster", {}).get("file")
    secret = settings.get("hidden_tests", {}).get("secret_file")
    return CourseConfig(
        due_dates={lesson: _due_date(lesson, text, path) for lesson, text in settings.get("due_dates", {}).items()},
        late_percent_per_day=float(late.get("percent_per_day", 0.0)),
        late_zero_after_days=late.get("zero_after_days"),
        roster=(Path(course_dir) / roster) if roster else None,
        gradebook_url=settings.get("gradebook", {}).get("url") or None,
        secret_file=(Path(course_dir) / secret) if secret else None,
    )


SEED_KEY_CONTEXT = b"genlab hidden-test seeds"


def hidden_seed_key(course_dir: Path) -> str:
    """The key the grading kernel mixes into hidden tests' seeds: derived from the course secret (so the kernel never
    holds the secret itself), or '' when the course has none (seeds stay as the lessons write them)."""
    import hashlib
    import hmac

    path = load(course_dir).secret_file
    if path is None or not path.exists():
        return ""
    secret = path.read_bytes().strip()
    if len(secret) < 16:
        raise SystemExit(f"{path}: the course secret is {len(secret)} bytes; make it at least 16 random bytes, e.g. "
                         f"python -c 'import secrets; print(secrets.token_hex(32))' > {path}")
    return hmac.new(secret, SEED_KEY_CONTEXT, hashlib.sha256).hexdigest()
