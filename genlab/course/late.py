"""The late-submission policy, as an nbgrader LateSubmissionPlugin (nbgrader_config.py selects it and passes the
numbers from course.toml): a percentage of the earned score per started day late, and all of it past a limit."""

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDayLate(LateSubmissionPlugin):
    percent_per_day = Float(0.0, help="percentage of the earned score lost per started day late").tag(config=True)
    zero_after_days = Float(None, allow_none=True, help="later than this many days: the whole score").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        days_late = total_seconds_late / 86400
        if self.zero_after_days is not None and days_late > self.zero_after_days:
            return score
        return round(score * min(1.0, self.percent_per_day / 100 * math.ceil(days_late)), 6)  # 0.6, not 0.6000000000000001
