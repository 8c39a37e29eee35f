"""What happened to follow-ups, read from their history rows (django-simple-history).

Every service saves a history row with who acted and, for a snooze, why; these
helpers turn consecutive rows into events: created, status changed, reassigned,
put off (with the reason), edited.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Q, Window
from django.db.models.functions import Lag
from django.utils import timezone

from crm.models import FollowUp

# Fields whose change is told as its own event; any other changed field is an edit.
TRACKED = ("status", "assignee_id", "due_on")
EDITABLE = ("title", "description", "priority", "project_id", "organization_id", "person_id")


@dataclass
class FollowUpEvent:
    kind: str  # created, status, reassigned, snoozed, edited
    at: datetime
    by: Any
    reason: str = ""
    before: Any = None
    after: Any = None
    fields: list[str] = field(default_factory=list)
    title: str = ""
    follow_up_id: int | None = None

    @property
    def day(self) -> date:
        return timezone.localdate(self.at)


def _users(ids) -> dict[int, Any]:
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return {}
    return {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}


def _status_label(value: str) -> str:
    try:
        return FollowUp.Status(value).label
    except ValueError:
        return value


def follow_up_events(follow_up: FollowUp, *, limit: int = 200) -> tuple[list[FollowUpEvent], bool]:
    """Return the follow-up's events, oldest first, and whether older ones were cut.

    Two queries: the newest ``limit`` history rows, and the users they name.
    """
    rows = list(
        follow_up.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    cut = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    users = _users(
        [row.assignee_id for row in rows] + [getattr(row, "completed_by_id", None) for row in rows]
    )
    events: list[FollowUpEvent] = []
    previous = None
    for row in rows:
        by = row.history_user
        reason = row.history_change_reason or ""
        if previous is None:
            kind = "created" if row.history_type == "+" else "edited"
            events.append(
                FollowUpEvent(kind, row.history_date, by, reason, after=users.get(row.assignee_id))
            )
            previous = row
            continue
        if row.status != previous.status:
            events.append(
                FollowUpEvent(
                    "status",
                    row.history_date,
                    by,
                    row.completion_note if row.status == FollowUp.Status.DONE else reason,
                    before=_status_label(previous.status),
                    after=_status_label(row.status),
                )
            )
        if row.assignee_id != previous.assignee_id:
            events.append(
                FollowUpEvent(
                    "reassigned",
                    row.history_date,
                    by,
                    reason,
                    before=users.get(previous.assignee_id),
                    after=users.get(row.assignee_id),
                )
            )
        if row.due_on != previous.due_on:
            events.append(
                FollowUpEvent(
                    "snoozed",
                    row.history_date,
                    by,
                    reason,
                    before=previous.due_on,
                    after=row.due_on,
                )
            )
        edited = [name for name in EDITABLE if getattr(row, name) != getattr(previous, name)]
        if edited:
            labels = [
                str(FollowUp._meta.get_field(name.removesuffix("_id")).verbose_name)
                for name in edited
            ]
            events.append(FollowUpEvent("edited", row.history_date, by, reason, fields=labels))
        previous = row
    return events, cut


def _lag(name: str) -> Window:
    return Window(
        Lag(name),
        partition_by=[F("id")],
        order_by=[F("history_date").asc(), F("history_id").asc()],
    )


def snoozes_and_reassignments(follow_ups, *, limit: int) -> list[FollowUpEvent]:
    """Return the newest ``limit`` snoozes and reassignments of ``follow_ups``, newest first.

    Each history row is compared with the row before it by a window function,
    so that the database finds the changes: two queries however long the story.
    A follow-up's first row has no row before it (NULL), so it never counts as
    a change; no filter on ``history_type`` either, as a plain filter would run
    before the window and hide the rows it compares with.
    """
    History = FollowUp.history.model
    changed = (
        Q(due_on__lt=F("previous_due_on"))
        | Q(due_on__gt=F("previous_due_on"))
        | Q(assignee_id__lt=F("previous_assignee"))
        | Q(assignee_id__gt=F("previous_assignee"))
        | Q(assignee_id__isnull=True, previous_assignee__isnull=False)
        | Q(
            assignee_id__isnull=False,
            previous_assignee__isnull=True,
            previous_due_on__isnull=False,
        )
    )
    rows = list(
        History.objects.filter(id__in=follow_ups.values("id"))
        .annotate(previous_due_on=_lag("due_on"), previous_assignee=_lag("assignee_id"))
        .filter(changed)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:limit]
    )
    users = _users([row.assignee_id for row in rows] + [row.previous_assignee for row in rows])
    events = []
    for row in rows:
        reason = row.history_change_reason or ""
        if row.assignee_id != row.previous_assignee:
            events.append(
                FollowUpEvent(
                    "reassigned",
                    row.history_date,
                    row.history_user,
                    reason,
                    before=users.get(row.previous_assignee),
                    after=users.get(row.assignee_id),
                    title=row.title,
                    follow_up_id=row.id,
                )
            )
        if row.due_on != row.previous_due_on:
            events.append(
                FollowUpEvent(
                    "snoozed",
                    row.history_date,
                    row.history_user,
                    reason,
                    before=row.previous_due_on,
                    after=row.due_on,
                    title=row.title,
                    follow_up_id=row.id,
                )
            )
    return events


@dataclass
class RecordChange:
    """One edit of a record's own fields: which fields, from what to what, by whom."""

    at: datetime
    by: Any
    reason: str
    changes: list[tuple[str, Any, Any]]  # (field label, before, after)

    @property
    def day(self) -> date:
        return timezone.localdate(self.at)


# Bookkeeping columns that every save touches: not a change anyone made.
_UNTOLD = {"id", "updated_at", "created_at", "slug"}


def _shown(model_field, value) -> Any:
    """Return a value as a person reads it: a choice's label, yes or no."""
    from django.utils.translation import gettext

    if model_field.choices and value is not None:
        return dict(model_field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return value


def record_changes(instance, *, limit: int) -> list[RecordChange]:
    """Return the newest ``limit`` edits of ``instance``, newest first (one query).

    Each history row is compared with the one before it; creation is not an
    edit. Only the record's own columns are compared, not its relations' rows.
    """
    rows = list(
        instance.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    fields = [
        field
        for field in type(instance)._meta.concrete_fields
        if field.attname not in _UNTOLD and not field.is_relation
    ]
    changes = []
    for newer, older in pairwise(rows):
        diff = [
            (
                str(field.verbose_name),
                _shown(field, getattr(older, field.attname)),
                _shown(field, getattr(newer, field.attname)),
            )
            for field in fields
            if getattr(older, field.attname) != getattr(newer, field.attname)
        ]
        if diff:
            changes.append(
                RecordChange(
                    newer.history_date, newer.history_user, newer.history_change_reason or "", diff
                )
            )
    return changes
