"""What is on someone's plate on a given day, as the dashboard and the digest show it.

Both read the same meanings (``crm.managers.deadline_q``) and both read them the
same bounded way: at most ``limit`` rows per group, one query per group, and
every group's count in one more query (conditional aggregation), however many
follow-ups there are.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, Window

from crm.managers import (
    DEADLINE_GROUPS,
    WAITING_TOO_LONG_DAYS,
    WEEK_DAYS,
    Deadline,
    deadline_q,
    due_soon_q,
    open_q,
)
from crm.models import FollowUp

__all__ = ["WAITING_TOO_LONG_DAYS", "WEEK_DAYS", "FollowUpGroup", "bounded_groups"]

# Follow-ups listed per group; the rest is one link away.
GROUP_LIMIT = 50


@dataclass
class FollowUpGroup:
    key: str
    label: str
    follow_ups: list[FollowUp]
    total: int
    # Where the whole group is listed (the dashboard sets it).
    more_url: str = ""

    @property
    def more(self) -> int:
        return self.total - len(self.follow_ups)


def bounded_groups(
    queryset,
    conditions: dict[str, Q],
    *,
    labels: dict[str, str] | None = None,
    limit: int,
    counts: dict[str, int] | None = None,
) -> dict[str, FollowUpGroup]:
    """Return, per condition, its first ``limit`` follow-ups by due date and its count.

    ``len(conditions) + 1`` queries (one fewer when the caller has ``counts``),
    each served by an index on the due date.
    """
    labels = labels or {}
    if counts is None:
        # COUNT(status) (never NULL) so that a partial index holding the
        # status can answer alone: see FollowUpQuerySet.deadline_counts.
        counts = queryset.aggregate(
            **{key: Count("status", filter=condition) for key, condition in conditions.items()}
        )
    return {
        key: FollowUpGroup(
            key,
            labels.get(key, key),
            list(queryset.filter(condition).order_by("due_on", "id")[:limit]),
            counts[key],
        )
        for key, condition in conditions.items()
    }


def first_and_total(queryset, *, limit: int) -> tuple[list, int]:
    """Return the first ``limit`` rows of ``queryset`` and how many there are, in one query.

    ``COUNT(*) OVER ()`` is computed before the LIMIT, so the count is complete.
    """
    rows = list(queryset.annotate(listed_total=Window(Count("pk")))[:limit])
    return rows, rows[0].listed_total if rows else 0


def dashboard_groups(
    queryset, *, today: date, limit: int = GROUP_LIMIT, counts: dict[str, int] | None = None
) -> list[FollowUpGroup]:
    """Sort open follow-ups into the dashboard's groups (``DEADLINE_GROUPS``).

    A follow-up waiting on the partner goes to its own group whatever its date:
    the next move is theirs, so it is not "late" on our side. ``counts`` saves
    the count query when the caller already has them (the team's, from the
    per-project counts of the chart).
    """
    conditions = {key: deadline_q(key, today=today) for key in DEADLINE_GROUPS}
    labels = {key: Deadline(key).label for key in DEADLINE_GROUPS}
    # Every group is open work: counting open rows only lets the partial indexes serve.
    groups = bounded_groups(
        queryset.filter(open_q()), conditions, labels=labels, limit=limit, counts=counts
    )
    return list(groups.values())


def digest_groups(queryset, *, today: date, limit: int = GROUP_LIMIT) -> dict[str, FollowUpGroup]:
    """Return the digest's ``overdue``, ``due_soon`` (today and this week) and ``waiting``.

    ``waiting`` holds only the follow-ups waiting on the partner too long.
    """
    conditions = {
        "overdue": deadline_q(Deadline.OVERDUE, today=today),
        "due_soon": due_soon_q(today=today),
        "waiting": deadline_q(Deadline.WAITING_TOO_LONG, today=today),
    }
    return bounded_groups(queryset.filter(open_q()), conditions, limit=limit)
