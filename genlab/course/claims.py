"""`genlab grade --claim`: several machines (or several `genlab grade` processes) share one course folder and one
Postgres gradebook, and their workers claim submissions through Postgres, so that each one is graded once.

Postgres alone coordinates them; nothing here needs a scheduler or a file lock that works across machines:
- **Rounds.** The first machine to start (under the advisory lock PREPARE_KEY) finds nobody else grading (it takes
  ROUND_KEY exclusively), prepares the course as `genlab grade` does (releases, gradebook rows, --only-new) and queues
  its submissions in the table `genlab_claims` under a new round. Every machine then holds ROUND_KEY shared for as long
  as it grades; one that starts while it is held joins the open round instead of preparing again (which would rewrite
  releases under running graders) or queueing everything a second time.
- **Claims.** A worker claims a queued (lesson, student) by taking the session advisory lock of its student
  (STUDENT_CLASS, hashtext(student)) on a connection of its own, then checking it is still queued. The lock makes
  two lessons of one student never graded at once anywhere; it is released when the grade is recorded, or by
  Postgres when the holder's connection goes (a machine that died), and the row, still queued, is claimed again.
  A submission whose graders died `MAX_TAKES` times is reported ungraded rather than taken forever.
- **Outcomes.** A grade's outcome (graded or ungraded with its reason, and the hash of what was graded) is written to
  its row; that row is the shared truth. Each machine waits until its round has nothing queued, then, one machine at
  a time (FINISH_KEY), rewrites grading_status.json from the table and writes feedback and the exports, which thus
  hold everyone's grades. --only-new compares with the hashes in the table.
"""

import json
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from genlab.course import grading_status, nbgrader, parallel

# advisory lock keys: single bigint keys for the round's steps, (class, hashtext(student)) pairs for students; the
# two key spaces do not overlap in Postgres
PREPARE_KEY, ROUND_KEY, FINISH_KEY = 0x67656E6C6162_01, 0x67656E6C6162_02, 0x67656E6C6162_03
STUDENT_CLASS = 0x67656E6C  # "genl"
MAX_TAKES = 2  # a claim whose holder died is taken over once more; the next death makes it ungraded
POLL_S = 2.0  # how often an idle worker looks again while other machines still grade

SCHEMA = """
CREATE TABLE IF NOT EXISTS genlab_claim_rounds (
    id text PRIMARY KEY, opened_at timestamptz NOT NULL DEFAULT now(), opened_by text NOT NULL,
    skipped text NOT NULL DEFAULT '[]');  -- JSON: what --only-new skipped, for every machine's summary
CREATE TABLE IF NOT EXISTS genlab_claims (
    lesson text NOT NULL, student text NOT NULL,
    round text NOT NULL,                -- the round that last queued it
    queued boolean NOT NULL,            -- waiting for a grade in that round
    queued_hash text NOT NULL,          -- what the round grades (grading_status.submission_hash)
    takes integer NOT NULL DEFAULT 0,   -- claims in this round (more than one: a holder died)
    taken_by text,                      -- host and pid of the last claim
    status text, reason text, hash text, attempts integer, seconds double precision, finished_at timestamptz,
    PRIMARY KEY (lesson, student));
"""


def check_url(url: str):
    """--claim needs a gradebook every machine reaches and that locks across them: Postgres."""
    if not url.startswith("postgresql"):
        shown = url.split("?")[0]
        raise SystemExit(f"--claim needs a shared Postgres gradebook, and this course's is {shown}: SQLite is one "
                         "file that only one machine may write to (its locks do not hold on a network filesystem). "
                         "Set GENLAB_GRADEBOOK_URL=postgresql+psycopg2://USER@HOST/DB (or [gradebook] url in "
                         "course.toml) on every machine; see autograder/README.md, Deployment recipes.")


def _who() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _engine(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    # autocommit: locks are session locks, so no transaction stays open (idle-in-transaction limits) while grading;
    # the application name shows in pg_stat_activity who holds what
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                         connect_args={"application_name": f"genlab grade {_who()}"[:63]})


class Round:
    """This process's part in a claim round: the connection that prepares, holds the round and finishes."""

    def __init__(self, course_dir: Path):
        from sqlalchemy import text

        self.course_dir = Path(course_dir)
        self.url = nbgrader.gradebook_url(self.course_dir)
        check_url(self.url)
        self.engine = _engine(self.url)
        self.connection = self.engine.connect()
        self.text = text
        self.id = None
        self.opened = False

    def sql(self, statement: str, connection=None, **params):
        return (connection or self.connection).execute(self.text(statement), params)

    def close(self):
        self.connection.close()  # releases every lock this connection holds
        self.engine.dispose()

    def open_or_join(self, prepare) -> dict | None:
        """Under PREPARE_KEY: open a round with `prepare(records)` (returning grade.prepare's plan) when nobody else
        grades, else join the open one. Returns the plan when this process opened the round, else None."""
        self.sql("SELECT pg_advisory_lock(:k)", k=PREPARE_KEY)
        try:
            for statement in SCHEMA.split(";")[:-1]:  # under the lock: CREATE IF NOT EXISTS races with itself
                self.sql(statement)
            alone = self.sql("SELECT pg_try_advisory_lock(:k)", k=ROUND_KEY).scalar()
            plan = None
            if alone:
                plan = prepare(self.records())
                self.id = uuid.uuid4().hex
                # nobody else grades, so anything still queued was left by runs that died: not this round's
                self.sql("UPDATE genlab_claims SET queued = false WHERE queued")
                self.sql("INSERT INTO genlab_claim_rounds (id, opened_by, skipped) VALUES (:id, :who, :skipped)",
                         id=self.id, who=_who(), skipped=json.dumps(plan["skipped"]))
                for lesson, student in plan["to_grade"]:
                    self.sql("INSERT INTO genlab_claims (lesson, student, round, queued, queued_hash) "
                             "VALUES (:lesson, :student, :round, true, :hash) ON CONFLICT (lesson, student) DO UPDATE "
                             "SET round = :round, queued = true, queued_hash = :hash, takes = 0, taken_by = NULL",
                             lesson=lesson, student=student, round=self.id, hash=plan["hashes"][(lesson, student)])
                self.sql("SELECT pg_advisory_unlock(:k)", k=ROUND_KEY)
                self.opened = True
            else:
                self.id = self.sql("SELECT id FROM genlab_claim_rounds ORDER BY opened_at DESC LIMIT 1").scalar()
            self.sql("SELECT pg_advisory_lock_shared(:k)", k=ROUND_KEY)  # taken under PREPARE_KEY: no gap to slip in
            return plan
        finally:
            self.sql("SELECT pg_advisory_unlock(:k)", k=PREPARE_KEY)

    def describe(self) -> str:
        row = self.sql("SELECT opened_by, (SELECT count(*) FROM genlab_claims WHERE round = :id AND queued) "
                       "FROM genlab_claim_rounds WHERE id = :id", id=self.id).one()
        return f"round opened by {row[0]}, {row[1]} submission(s) queued"

    def records(self) -> dict:
        """grading_status.json's records, each replaced by the table's grade of it where that one is newer (a plain
        `genlab grade` since the last claim run writes only the file)."""
        records = grading_status.load(self.course_dir)
        rows = self.sql("SELECT lesson, student, status, reason, hash, attempts, seconds, finished_at, taken_by "
                        "FROM genlab_claims WHERE status IS NOT NULL")
        for lesson, student, status, reason, hashed, attempts, seconds, finished_at, taken_by in rows:
            known = records.get(lesson, {}).get(student, {}).get("graded_at")
            if known and datetime.fromisoformat(known) > finished_at:
                continue
            records.setdefault(lesson, {})[student] = {
                "status": status, "reason": reason or "", "hash": hashed, "attempts": attempts,
                "seconds": round(seconds or 0.0, 1), "graded_at": finished_at.isoformat(timespec="seconds"),
                "graded_by": taken_by}
        return records

    def outcomes(self) -> list:
        """Every finished grade of this round, from all machines."""
        rows = self.sql("SELECT lesson, student, status, reason, attempts, seconds FROM genlab_claims "
                        "WHERE round = :id AND NOT queued AND status IS NOT NULL ORDER BY lesson, student", id=self.id)
        return [parallel.Outcome(lesson, student, status == grading_status.GRADED, reason or "", attempts,
                                 seconds or 0.0, None) for lesson, student, status, reason, attempts, seconds in rows]

    def skipped(self) -> list:
        """(lesson, student) pairs the round's --only-new skipped."""
        text = self.sql("SELECT skipped FROM genlab_claim_rounds WHERE id = :id", id=self.id).scalar()
        return [tuple(pair) for pair in json.loads(text or "[]")]

    @contextmanager
    def finishing(self):
        """One machine at a time writes grading_status.json, feedback and exports into the shared folder."""
        self.sql("SELECT pg_advisory_lock(:k)", k=FINISH_KEY)
        try:
            grading_status.save(self.course_dir, self.records())
            yield
        finally:
            self.sql("SELECT pg_advisory_unlock(:k)", k=FINISH_KEY)

    def queue(self, on_outcome=None) -> "ClaimQueue":
        return ClaimQueue(self, on_outcome)


class ClaimQueue:
    """What parallel.grade_submissions takes work from in claim mode: a worker's next submission is the first queued
    one of the round whose student it can lock, on the worker's own connection."""

    def __init__(self, round_: Round, on_outcome=None):
        self.round, self.on_outcome = round_, on_outcome
        self.connections, self.held = {}, {}
        self.report_lock = threading.Lock()  # one outcome line at a time

    def _connection(self, worker: int):
        if worker not in self.connections:
            self.connections[worker] = self.round.engine.connect()
        return self.connections[worker]

    def take(self, worker: int, stopping) -> tuple | None:
        sql, connection = self.round.sql, self._connection(worker)
        while not stopping.is_set():
            queued = sql("SELECT lesson, student FROM genlab_claims WHERE round = :id AND queued ORDER BY student, "
                         "lesson", connection, id=self.round.id).all()
            if not queued:
                return None
            for lesson, student in queued:
                if not sql("SELECT pg_try_advisory_lock(:c, hashtext(:s))", connection, c=STUDENT_CLASS,
                           s=student).scalar():
                    continue  # another worker, here or elsewhere, grades this student now
                # under the student's lock nobody else changes its rows: still queued means still ours to grade
                row = sql("UPDATE genlab_claims SET takes = takes + 1, taken_by = :who WHERE lesson = :lesson AND "
                          "student = :student AND round = :id AND queued RETURNING takes, taken_by", connection,
                          who=_who(), lesson=lesson, student=student, id=self.round.id).one_or_none()
                if row is not None and row[0] > MAX_TAKES:
                    self._record(connection, parallel.Outcome(
                        lesson, student, False, f"its grader died {MAX_TAKES} times (connection to the gradebook "
                        "lost: machine down, or `genlab grade` killed)", MAX_TAKES, 0.0, None))
                elif row is not None:
                    self.held[worker] = student
                    return lesson, student
                sql("SELECT pg_advisory_unlock(:c, hashtext(:s))", connection, c=STUDENT_CLASS, s=student)
            time.sleep(POLL_S)  # all queued students are being graded by others: wait for them, or for their death
        return None

    def _record(self, connection, outcome: parallel.Outcome):
        self.round.sql("UPDATE genlab_claims SET queued = false, status = :status, reason = :reason, "
                       "hash = queued_hash, attempts = :attempts, seconds = :seconds, finished_at = now() "
                       "WHERE lesson = :lesson AND student = :student AND round = :id", connection,
                       status=grading_status.GRADED if outcome.graded else grading_status.UNGRADED,
                       reason=outcome.reason, attempts=outcome.attempts, seconds=outcome.seconds,
                       lesson=outcome.lesson, student=outcome.student, id=self.round.id)
        if self.on_outcome:
            with self.report_lock:
                self.on_outcome(outcome)

    def done(self, worker: int, outcome: parallel.Outcome):
        """Record the outcome (before the lock goes: no one may take the student in between), then unlock."""
        connection = self._connection(worker)
        self._record(connection, outcome)
        self.round.sql("SELECT pg_advisory_unlock(:c, hashtext(:s))", connection, c=STUDENT_CLASS,
                       s=self.held.pop(worker))

    def wake(self):
        pass  # workers poll; nothing to wake

    def close(self):
        for connection in self.connections.values():
            connection.close()
