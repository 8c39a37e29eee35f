"""QuerySets and managers: reads only (filtering and annotation), no writes.

Methods that depend on the date take ``today`` as an argument, so that callers
decide what "today" is and tests never depend on the clock.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone


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
        """Annotate ``open_count``, ``overdue_count`` and ``due_soon_count`` (7 days).

        Open counts every open follow-up; overdue follows
        ``FollowUpQuerySet.overdue()``: a follow-up waiting on the partner is not
        late on our side.
        """
        from crm.models import FollowUp

        open_ = Q(follow_ups__status__in=FollowUp.OPEN_STATUSES)
        late = open_ & ~Q(follow_ups__status=FollowUp.Status.WAITING)
        week_end = today + timedelta(days=7)
        return self.annotate(
            open_count=Count("follow_ups", filter=open_),
            overdue_count=Count("follow_ups", filter=late & Q(follow_ups__due_on__lt=today)),
            due_soon_count=Count(
                "follow_ups",
                filter=open_ & Q(follow_ups__due_on__gte=today, follow_ups__due_on__lte=week_end),
            ),
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


class FollowUpPlanStepManager(models.Manager):
    def get_by_natural_key(self, plan: str, title: str):
        return self.get(plan__slug=plan, title=title)


class FollowUpQuerySet(models.QuerySet):
    def open(self):
        """Follow-ups still to act on: neither done nor cancelled."""
        # Spelled as IN (open statuses), not NOT IN (closed ones), so that the
        # partial indexes on open follow-ups apply.
        return self.filter(status__in=self.model.OPEN_STATUSES)

    def overdue(self, *, today: date):
        """Open follow-ups past their due date on our side.

        A follow-up waiting on the partner is not late on our side, however old
        its date: the next move is theirs (it has its own "waiting too long"
        nudge). Dashboard, digest, chart, admin and API all use this definition.
        """
        return self.open().exclude(status=self.model.Status.WAITING).filter(due_on__lt=today)

    def due_within(self, days: int, *, today: date):
        """Open follow-ups due from today to ``days`` days ahead, both included."""
        return self.open().filter(due_on__gte=today, due_on__lte=today + timedelta(days=days))

    def for_assignee(self, user):
        return self.filter(assignee=user)


def _contacts_up_to(today: date | None):
    """Interactions with the outer query's organisation up to ``today``, latest first."""
    from crm.models import InteractionOrganization

    return InteractionOrganization.objects.filter(
        organization=OuterRef("organization_id"),
        interaction__occurred_on__lte=today or timezone.localdate(),
    ).order_by("-interaction__occurred_on", "-interaction_id")


class PartnershipQuerySet(models.QuerySet):
    def with_last_contact(self, *, today: date | None = None):
        """Annotate ``last_contact_on``: the latest interaction with the organization.

        Any interaction with the organization counts, whatever project it was about:
        a relationship goes quiet with the organization, not with one project. A
        meeting planned after ``today`` (default: the local date) is not a contact
        yet, or a partnership nobody has spoken to would never look quiet.
        """
        latest = _contacts_up_to(today)
        return self.annotate(
            last_contact_on=Subquery(
                latest.values("interaction__occurred_on")[:1], output_field=models.DateField()
            ),
        )

    def with_last_contact_precision(self, *, today: date | None = None):
        """Annotate ``last_contact_precision``: how precise the last contact's date is.

        The source dates the mission's meetings "fin septembre 2023", stored as
        1 September: pages must not show that as a day.
        """
        latest = _contacts_up_to(today)
        return self.annotate(
            last_contact_precision=Subquery(
                latest.values("interaction__date_precision")[:1],
                output_field=models.CharField(),
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

    def with_contact_due(self, *, today: date | None = None):
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
