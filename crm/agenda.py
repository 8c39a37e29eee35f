"""What is on someone's plate on a given day, as the dashboard and the digest show it.

Both read the same facts, so both sort them here: a follow-up is late on the
dashboard exactly when the morning's digest says so.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext_lazy

from crm.models import FollowUp

# "Due this week": today and the seven days after.
WEEK_DAYS = 7
# A follow-up waiting on the partner longer than this is worth a nudge.
WAITING_TOO_LONG_DAYS = 14


@dataclass
class FollowUpGroup:
    key: str
    label: str
    follow_ups: list[FollowUp]


def group_follow_ups(follow_ups: Iterable[FollowUp], *, on: date) -> list[FollowUpGroup]:
    """Sort open follow-ups into the dashboard's groups.

    A follow-up waiting on the partner goes to its own group whatever its date:
    the next move is theirs, so it is not "late" on our side.
    """
    groups = {
        "overdue": FollowUpGroup("overdue", gettext_lazy("Overdue"), []),
        "today": FollowUpGroup("today", gettext_lazy("Due today"), []),
        "week": FollowUpGroup("week", gettext_lazy("Due this week"), []),
        "later": FollowUpGroup("later", gettext_lazy("Later"), []),
        "waiting": FollowUpGroup("waiting", gettext_lazy("Waiting on the partner"), []),
    }
    week_end = on + timedelta(days=WEEK_DAYS)
    for follow_up in follow_ups:
        if follow_up.status == FollowUp.Status.WAITING:
            key = "waiting"
        elif follow_up.due_on < on:
            key = "overdue"
        elif follow_up.due_on == on:
            key = "today"
        elif follow_up.due_on <= week_end:
            key = "week"
        else:
            key = "later"
        groups[key].follow_ups.append(follow_up)
    return list(groups.values())


def waiting_too_long(follow_up: FollowUp, *, on: date) -> bool:
    """Tell whether the partner has had the follow-up for more than two weeks."""
    return (
        follow_up.waiting_since is not None
        and (on - follow_up.waiting_since).days > WAITING_TOO_LONG_DAYS
    )
