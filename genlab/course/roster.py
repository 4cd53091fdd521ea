"""The class list: autograder/roster.csv with one row per enrolled student (id, first_name, last_name, email,
section). It puts names in the gradebook and lets the exports list students who submitted nothing."""

import csv
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("id", "first_name", "last_name", "email", "section")


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    section: str = ""

    def gradebook_fields(self) -> dict:
        return {"first_name": self.first_name or None, "last_name": self.last_name or None, "email": self.email or None}


def read(path: Path) -> dict:
    """id -> Student, in file order. Fails, saying what to fix, on a missing column, an empty or repeated id."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets often save a BOM
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise SystemExit(f"{path}: the roster lacks the column(s) {', '.join(missing)}; its first line must name "
                             f"{','.join(COLUMNS)} (see autograder/roster.example.csv). It has: {','.join(header)}")
        students = {}
        for line, row in enumerate(reader, start=2):
            row = {key.strip(): (value or "").strip() for key, value in row.items() if key}
            if not row["id"]:
                raise SystemExit(f"{path}, line {line}: empty id; every student needs the id nbgrader knows them by "
                                 "(their JupyterHub user name, the folder name under submitted/).")
            awkward = [name for name in COLUMNS if any(ch in row[name] for ch in ',"\n')]
            if awkward:  # nbgrader's CSV export writes fields unquoted: one comma would shift every column after it
                raise SystemExit(f"{path}, line {line}: {', '.join(awkward)} contains a comma or a quote, which "
                                 "nbgrader's grades export cannot hold; write the name without it.")
            if row["id"] in students:
                raise SystemExit(f"{path}, line {line}: the id {row['id']!r} appears twice.")
            students[row["id"]] = Student(**{name: row[name] for name in COLUMNS})
    return students
