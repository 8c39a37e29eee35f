"""QuerySets and managers: reads only (filtering and annotation), no writes.

Methods that depend on the date take ``today`` as a required keyword, so that
callers decide what "today" is (``crm.clock.today()`` for a request) and tests
never depend on the clock.

Each meaning of the follow-ups' calendar ("overdue", "due today", "due this
week", "waiting too long") is one ``Q`` builder below, shared by the QuerySet
filter, its negation, ``Count(filter=…)`` on a related model (``prefix``) and
the ``Case`` that sorts the dashboard's groups, as wagtail's ``wagtail/query.py``
does. Nothing else in the project compares a follow-up's due date with today.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext_lazy as _

from crm.models.choices import OPEN_FOLLOW_UP_STATUSES, FollowUpStatus

# "Due within 7 days": the seven days after today (today itself is "due today").
WEEK_DAYS = 7
# A follow-up waiting on the partner for more days than this is worth a nudge.
WAITING_TOO_LONG_DAYS = 14

# Open and the next move ours: a follow-up waiting on the partner is not late on
# our side, however old its date (it has its own "waiting too long" nudge).
# Spelled as IN (these statuses), so that the partial indexes on open
# follow-ups apply.
OUR_MOVE_STATUSES = [s for s in OPEN_FOLLOW_UP_STATUSES if s != FollowUpStatus.WAITING]


class Deadline(models.TextChoices):
    """Where an open follow-up stands against today: the dashboard's groups.

    The first five split the open follow-ups (each is in exactly one);
    "waiting too long" is a part of "waiting".
    """

    OVERDUE = "overdue", _("Overdue")
    TODAY = "today", _("Due today")
    WEEK = "week", _("Due within 7 days")
    LATER = "later", _("Later")
    WAITING = "waiting", _("Waiting on the partner")
    WAITING_TOO_LONG = "waiting_too_long", _("Waiting on the partner too long")


# The dashboard's groups, in the order it shows them.
DEADLINE_GROUPS = [
    Deadline.OVERDUE,
    Deadline.TODAY,
    Deadline.WEEK,
    Deadline.LATER,
    Deadline.WAITING,
]


def _q(prefix: str, **lookups) -> Q:
    """Return ``Q(**lookups)`` with each lookup read through ``prefix`` (a relation)."""
    return Q(**{prefix + name: value for name, value in lookups.items()})


def open_q(prefix: str = "") -> Q:
    """Follow-ups still to act on: neither done nor cancelled."""
    return _q(prefix, status__in=OPEN_FOLLOW_UP_STATUSES)


def our_move_q(prefix: str = "") -> Q:
    """Open follow-ups whose next move is ours (not waiting on the partner)."""
    return _q(prefix, status__in=OUR_MOVE_STATUSES)


def waiting_q(prefix: str = "") -> Q:
    return _q(prefix, status=FollowUpStatus.WAITING)


def week_end(today: date) -> date:
    """Return the last day of "due this week" seen from ``today``."""
    return today + timedelta(days=WEEK_DAYS)


def deadline_q(deadline: str, *, today: date, prefix: str = "") -> Q:
    """Return the condition of one ``Deadline`` as of ``today``."""
    if deadline == Deadline.OVERDUE:
        return our_move_q(prefix) & _q(prefix, due_on__lt=today)
    if deadline == Deadline.TODAY:
        return our_move_q(prefix) & _q(prefix, due_on=today)
    if deadline == Deadline.WEEK:
        return our_move_q(prefix) & _q(prefix, due_on__gt=today, due_on__lte=week_end(today))
    if deadline == Deadline.LATER:
        return our_move_q(prefix) & _q(prefix, due_on__gt=week_end(today))
    if deadline == Deadline.WAITING:
        return waiting_q(prefix)
    if deadline == Deadline.WAITING_TOO_LONG:
        since = today - timedelta(days=WAITING_TOO_LONG_DAYS)
        return waiting_q(prefix) & _q(prefix, waiting_since__lt=since)
    raise ValueError(f"Unknown deadline {deadline!r}")


def in_time_q(*, today: date, prefix: str = "") -> Q:
    """Open follow-ups neither overdue nor waiting too long as of ``today``.

    The rest of open work once ``Deadline.OVERDUE`` and
    ``Deadline.WAITING_TOO_LONG`` are taken out (tests/test_tallies.py checks
    that the three split it): what is due from today on, and what has waited
    less than ``WAITING_TOO_LONG_DAYS``. It stays small however long the
    history, which is why crm.tallies counts these and derives the others.
    """
    since = today - timedelta(days=WAITING_TOO_LONG_DAYS)
    return (our_move_q(prefix) & _q(prefix, due_on__gte=today)) | (
        waiting_q(prefix) & _q(prefix, waiting_since__gte=since)
    )


def due_soon_q(*, today: date, prefix: str = "") -> Q:
    """Due today or this week: the digest's "due this week" and the projects' "due soon"."""
    return deadline_q(Deadline.TODAY, today=today, prefix=prefix) | deadline_q(
        Deadline.WEEK, today=today, prefix=prefix
    )


def is_overdue(*, status: str, due_on: date, today: date) -> bool:
    """Tell whether a follow-up read into Python is overdue: ``deadline_q(OVERDUE)``."""
    return status in OUR_MOVE_STATUSES and due_on < today


def is_waiting_too_long(*, status: str, waiting_since: date | None, today: date) -> bool:
    """Tell whether a follow-up read into Python is ``deadline_q(WAITING_TOO_LONG)``."""
    return (
        status == FollowUpStatus.WAITING
        and waiting_since is not None
        and waiting_since < today - timedelta(days=WAITING_TOO_LONG_DAYS)
    )


class AddDays(models.Func):
    """``date + days`` as a date, where ``days`` is a column or an expression.

    Django can add a fixed timedelta to a date, but not a number of days read
    from another column on SQLite, hence one spelling per database.
    """

    arity = 2
    output_field = models.DateField()

    def as_sql(self, compiler, connection, **extra_context):
        # PostgreSQL: date + integer is a date.
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" + ")

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
        )


class NaturalKeyManager(models.Manager):
    """Manager for models whose natural key is a unique ``slug``."""

    def get_by_natural_key(self, slug: str):
        return self.get(slug=slug)


class ProjectQuerySet(models.QuerySet):
    def with_follow_up_counts(self, *, today: date):
        """Annotate ``open_count``, ``overdue_count`` and ``due_soon_count``.

        Each is a ``Count(filter=…)`` of the follow-ups' own ``Q`` builders, so a
        project's counts are the dashboard's and the digest's. It counts every
        open follow-up of the projects; the projects list and the digest read
        ``crm.tallies.count_projects()`` instead, held to this by the tests.
        """
        # Joined to the open follow-ups only (the join's ON clause), so that
        # PostgreSQL reads crm_followup_open_project_idx and never closed work.
        prefix = "open_follow_ups__"
        return self.annotate(
            open_follow_ups=FilteredRelation("follow_ups", condition=open_q("follow_ups__"))
        ).annotate(
            open_count=Count("open_follow_ups"),
            overdue_count=Count(
                "open_follow_ups", filter=deadline_q(Deadline.OVERDUE, today=today, prefix=prefix)
            ),
            due_soon_count=Count("open_follow_ups", filter=due_soon_q(today=today, prefix=prefix)),
        )


class ProjectManager(models.Manager.from_queryset(ProjectQuerySet)):
    def get_by_natural_key(self, code: str):
        return self.get(code=code)


class AffiliationManager(models.Manager):
    def get_by_natural_key(self, person: str, organization: str, title: str, start_on):
        return self.get(
            person__slug=person,
            organization__slug=organization,
            title=title,
            start_on=start_on,
        )


class MissionMemberManager(models.Manager):
    def get_by_natural_key(self, mission: str, person: str):
        return self.get(mission__slug=mission, person__slug=person)


class InteractionOrganizationManager(models.Manager):
    def get_by_natural_key(self, interaction: str, organization: str):
        return self.get(interaction__slug=interaction, organization__slug=organization)


class InteractionPersonManager(models.Manager):
    def get_by_natural_key(self, interaction: str, person: str):
        return self.get(interaction__slug=interaction, person__slug=person)


class InteractionProjectManager(models.Manager):
    def get_by_natural_key(self, interaction: str, project: str):
        return self.get(interaction__slug=interaction, project__code=project)


class MergeQuerySet(models.QuerySet):
    # A chain longer than this is a loop in bad data, not merges made by hand.
    MAX_HOPS = 20

    def survivor_id(self, *, kind: str, slug: str) -> int | None:
        """Return the id of the record that the one once at ``slug`` now lives on in.

        The chain is followed by id (A merged into B, then B into C gives C), so
        that a slug taken again by a new record never misleads it. ``None`` when
        no record of that kind was merged away under that slug.
        """
        kept_id = (
            self.filter(kind=kind, removed_slug=slug)
            .order_by("-merged_at", "-id")
            .values_list("kept_id", flat=True)
            .first()
        )
        for _hop in range(self.MAX_HOPS):
            if kept_id is None:
                return None
            later = (
                self.filter(kind=kind, removed_id=kept_id)
                .order_by("-merged_at", "-id")
                .values_list("kept_id", flat=True)
                .first()
            )
            if later is None:
                return kept_id
            kept_id = later
        return None


class PendingImportQuerySet(models.QuerySet):
    def expired(self, *, now: datetime) -> "PendingImportQuerySet":
        return self.filter(created_at__lt=now - self.model.TTL)

    def delete_expired(self, *, now: datetime, limit: int = 100) -> int:
        """Delete at most ``limit`` expired uploads; return how many went.

        Bounded so that the preview that triggers it stays fast even after a
        long pause; the next previews take the rest.
        """
        pks = list(
            self.expired(now=now).order_by("created_at").values_list("pk", flat=True)[:limit]
        )
        if not pks:
            return 0
        deleted, _by_model = self.filter(pk__in=pks).delete()
        return deleted


class FollowUpPlanStepManager(models.Manager):
    def get_by_natural_key(self, plan: str, title: str):
        return self.get(plan__slug=plan, title=title)


def _deadline_counts(today: date) -> dict[str, Count]:
    # COUNT(status), a column that is never NULL, rather than COUNT(id): the
    # partial indexes hold the status, not the id, so the count reads only them.
    return {key: Count("status", filter=deadline_q(key, today=today)) for key in Deadline.values}


class FollowUpQuerySet(models.QuerySet):
    def open(self):
        """Follow-ups still to act on: neither done nor cancelled."""
        return self.filter(open_q())

    def deadline(self, deadline: str, *, today: date):
        """Open follow-ups in one ``Deadline`` group as of ``today``."""
        return self.filter(deadline_q(deadline, today=today))

    def overdue(self, *, today: date):
        """Open follow-ups past their due date, the next move ours."""
        return self.deadline(Deadline.OVERDUE, today=today)

    def due_today(self, *, today: date):
        return self.deadline(Deadline.TODAY, today=today)

    def due_this_week(self, *, today: date):
        """Due in the WEEK_DAYS days after today, the next move ours."""
        return self.deadline(Deadline.WEEK, today=today)

    def due_soon(self, *, today: date):
        """Due today or this week, the next move ours."""
        return self.filter(due_soon_q(today=today))

    def waiting(self):
        return self.filter(waiting_q())

    def waiting_too_long(self, *, today: date):
        """Waiting on the partner for more than WAITING_TOO_LONG_DAYS days."""
        return self.deadline(Deadline.WAITING_TOO_LONG, today=today)

    def for_assignee(self, user):
        return self.filter(assignee=user)

    @staticmethod
    def overdue_expression(*, today: date) -> ExpressionWrapper:
        """Return "overdue as of ``today``" as a boolean SQL expression (exports, COPY)."""
        return ExpressionWrapper(
            deadline_q(Deadline.OVERDUE, today=today), output_field=models.BooleanField()
        )

    def with_is_overdue(self, *, today: date):
        """Annotate ``is_overdue`` (a boolean computed by the database)."""
        return self.annotate(is_overdue=self.overdue_expression(today=today))

    def with_deadline(self, *, today: date):
        """Annotate ``deadline``: the key of the ``DEADLINE_GROUPS`` group, or NULL if closed."""
        return self.annotate(
            deadline=Case(
                *(When(deadline_q(key, today=today), then=Value(key)) for key in DEADLINE_GROUPS),
                default=Value(None),
                output_field=models.CharField(),
            )
        )

    def deadline_counts(self, *, today: date) -> dict[str, int]:
        """Count the follow-ups of each ``Deadline`` in one query (conditional aggregation)."""
        return self.filter(open_q()).aggregate(**_deadline_counts(today))

    def deadline_counts_by_project(self, *, today: date) -> dict[int, dict[str, int]]:
        """Return, per project id, its open follow-ups (``open``) and each ``Deadline``'s count.

        One GROUP BY over open work, read from crm_followup_open_project_idx alone:
        it grows with the open follow-ups. Pages read ``crm.tallies`` instead,
        which the tests hold to this count of every row.
        """
        return self.deadline_counts_by("project", today=today)

    def deadline_counts_by(self, field: str, *, today: date) -> dict[int | None, dict[str, int]]:
        """Return ``deadline_counts_by_project``'s figures grouped by ``field`` (a foreign key)."""
        rows = (
            self.filter(open_q())
            .order_by()
            .values(field)
            .annotate(open=Count("status"), **_deadline_counts(today))
        )
        return {row.pop(field): row for row in rows}


def _contacts_up_to(today: date):
    """Interactions with the outer query's organisation up to ``today``, latest first."""
    from crm.models import InteractionOrganization

    return InteractionOrganization.objects.filter(
        organization=OuterRef("organization_id"),
        interaction__occurred_on__lte=today,
        # A cancelled meeting is not a contact (as in the triggers, 0022).
        interaction__cancelled_at__isnull=True,
    ).order_by("-interaction__occurred_on", "-interaction_id")


def _last_contact(field: str, *, today: date, output_field: models.Field) -> Case:
    """Return the ``field`` of the latest interaction with the organisation up to ``today``.

    The organisation's LastInteraction row answers, one read per partnership,
    unless that interaction is planned after ``today``: only then are the
    organisation's interactions searched (a meeting planned for next week is
    not a contact yet, or a partnership nobody has spoken to would never look
    quiet). Without a row, the organisation has never been met.
    """
    latest = "organization__last_interaction__"
    searched = _contacts_up_to(today).values(f"interaction__{field}")[:1]
    return Case(
        When(
            Q(**{f"{latest}occurred_on__lte": today}) | Q(**{f"{latest}isnull": True}),
            then=F(latest + field),
        ),
        default=Subquery(searched),
        output_field=output_field,
    )


class PartnershipQuerySet(models.QuerySet):
    def with_last_contact(self, *, today: date):
        """Annotate ``last_contact_on``: the latest interaction with the organization.

        Any interaction with the organization counts, whatever project it was about:
        a relationship goes quiet with the organization, not with one project.
        """
        return self.annotate(
            last_contact_on=_last_contact(
                "occurred_on", today=today, output_field=models.DateField()
            )
        )

    def with_last_contact_precision(self, *, today: date):
        """Annotate ``last_contact_precision``: how precise the last contact's date is.

        The source dates the mission's meetings "fin septembre 2023", stored as
        1 September: pages must not show that as a day.
        """
        return self.annotate(
            last_contact_precision=_last_contact(
                "date_precision", today=today, output_field=models.CharField()
            )
        )

    def with_cadence(self):
        """Annotate ``cadence_days``: the partnership's own, else its stage's default."""
        defaults = settings.CRM_CONTACT_CADENCE_DAYS
        stage_default = Case(
            *(When(stage=stage, then=Value(days)) for stage, days in defaults.items()),
            default=Value(None),
            output_field=models.PositiveIntegerField(),
        )
        return self.annotate(cadence_days=Coalesce(F("contact_cadence_days"), stage_default))

    def with_contact_due(self, *, today: date):
        """Annotate ``last_contact_on``, ``cadence_days`` and ``contact_due_on``.

        ``contact_due_on`` is the day by which the next contact is due: the last
        contact (or, with none yet, the day the partnership was recorded) plus the
        cadence. It is NULL for closed partnerships, which have no cadence.
        """
        base = Coalesce(F("last_contact_on"), TruncDate("created_at"))
        return (
            self.with_last_contact(today=today)
            .with_cadence()
            .annotate(contact_due_on=AddDays(base, F("cadence_days")))
        )

    def stale(self, *, today: date):
        """Partnerships not contacted within their cadence, as of ``today``."""
        return (
            self.with_contact_due(today=today)
            .exclude(stage=self.model.Stage.CLOSED)
            .filter(contact_due_on__lt=today)
        )

    def with_staleness(self, *, today: date):
        """Annotate the contact dates and ``staleness``: "", "amber" or "red".

        Amber once the last contact is older than the cadence, red once it is
        older than one and a half cadences. ``cadence * 3 / 2`` is integer
        division on both databases, so 1.5 × 21 days is 31 days, not 31.5.
        """
        base = Coalesce(F("last_contact_on"), TruncDate("created_at"))
        return (
            self.with_contact_due(today=today)
            .with_last_contact_precision(today=today)
            .annotate(contact_late_on=AddDays(base, F("cadence_days") * 3 / 2))
            .annotate(
                staleness=Case(
                    When(stage=self.model.Stage.CLOSED, then=Value("")),
                    When(contact_late_on__lt=today, then=Value("red")),
                    When(contact_due_on__lt=today, then=Value("amber")),
                    default=Value(""),
                    output_field=models.CharField(),
                )
            )
        )

    def gone_quiet(self, *, today: date):
        """Partnerships shown amber or red, the most overdue contact first."""
        return (
            self.with_staleness(today=today)
            .exclude(staleness="")
            .order_by("contact_due_on", "organization__name")
        )

    def with_next_follow_up(self):
        """Annotate ``next_follow_up_on``: the earliest open follow-up's due date.

        A partnership's follow-ups are those of its (organisation, project).
        """
        from crm.models import FollowUp

        earliest = (
            FollowUp.objects.open()
            .filter(organization=OuterRef("organization_id"), project=OuterRef("project_id"))
            .order_by("due_on")
            .values("due_on")[:1]
        )
        return self.annotate(next_follow_up_on=Subquery(earliest, output_field=models.DateField()))

    def watched_by(self, user, *, coordination: bool):
        """Partnerships whose silence is ``user``'s to notice.

        Those the user owns; for Coordination, also those nobody owns, so that a
        partnership gone quiet always reaches someone's dashboard and digest.
        """
        watched = Q(owner=user)
        if coordination:
            watched |= Q(owner__isnull=True)
        return self.filter(watched)


class PartnershipManager(models.Manager.from_queryset(PartnershipQuerySet)):
    def get_by_natural_key(self, organization: str, project: str):
        return self.get(organization__slug=organization, project__code=project)
