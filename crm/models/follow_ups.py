"""Follow-ups, the unit of staff work, and the plans that create them."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm import clock
from crm.managers import (
    FollowUpPlanStepManager,
    FollowUpQuerySet,
    NaturalKeyManager,
    is_overdue,
    is_waiting_too_long,
)
from crm.models.choices import OPEN_FOLLOW_UP_STATUSES, FollowUpPriority, FollowUpStatus
from crm.models.constraints import choices_constraint
from crm.models.directory import Organization, Person
from crm.models.missions import Interaction
from crm.models.programme import Project


class FollowUp(models.Model):
    """Something the unit promised or must do, tied to a Compact project."""

    Status = FollowUpStatus
    Priority = FollowUpPriority
    OPEN_STATUSES = OPEN_FOLLOW_UP_STATUSES
    CLOSED_STATUSES = (FollowUpStatus.DONE, FollowUpStatus.CANCELLED)

    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("from interaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    # What a follow-up serves beyond its project: a partner's commitment, or an
    # obligation of an agreement.
    commitment = models.ForeignKey(
        "crm.Commitment",
        verbose_name=_("commitment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    agreement = models.ForeignKey(
        "crm.Agreement",
        verbose_name=_("agreement obligation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    due_on = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completion_note = models.TextField(_("what was done"), blank=True)
    # Doing it was a contact with the partner ("note sent by e-mail"): the
    # interaction logged then, which counts in the partnership's last contact.
    # Set only by crm.services.follow_up_complete.
    completion_contact = models.ForeignKey(
        Interaction,
        verbose_name=_("contact logged when done"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="completed_follow_ups",
    )
    waiting_since = models.DateField(
        _("waiting since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set when the follow-up starts waiting on the partner, cleared when not."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    is_demo = models.BooleanField(
        _("demonstration data"), default=False, help_text=_("Made by load_demo; not a fact.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = FollowUpQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_on", "id"]
        constraints = [
            choices_constraint("status", FollowUpStatus, "followup"),
            choices_constraint("priority", FollowUpPriority, "followup"),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.DONE, completed_at__isnull=False)
                | (~Q(status=FollowUpStatus.DONE) & Q(completed_at__isnull=True)),
                name="crm_followup_completed_at_iff_done",
            ),
            models.CheckConstraint(
                condition=~Q(status=FollowUpStatus.DONE) | ~Q(completion_note=""),
                name="crm_followup_done_has_note",
            ),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.WAITING, waiting_since__isnull=False)
                | (~Q(status=FollowUpStatus.WAITING) & Q(waiting_since__isnull=True)),
                name="crm_followup_waiting_since_iff_waiting",
            ),
        ]
        indexes = [
            # FollowUp.objects.open().for_assignee(user): "what is mine", by due date.
            models.Index(
                fields=["assignee", "due_on"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_assignee_idx",
            ),
            # FollowUp.objects.deadline(…, today=…) across the team: the dashboard's
            # groups (ORDER BY due_on, id LIMIT 50), the admin and API filters. With
            # the id, the first 50 are read in order; without it, PostgreSQL
            # preferred crm_followup_due_idx and stepped over every closed one.
            models.Index(
                fields=["due_on", "id"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_due_idx",
            ),
            # The demonstration follow-ups, counted apart from the real ones
            # (crm.tallies): few, whatever the number of real follow-ups.
            models.Index(
                fields=["project", "assignee"],
                condition=Q(is_demo=True),
                name="crm_followup_demo_idx",
            ),
            # A project's follow-ups, and a partnership's (organisation, project).
            models.Index(fields=["project", "organization"], name="crm_followup_project_idx"),
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_followup_sync_idx"),
            # Admin changelist: ORDER BY due_on, id LIMIT 100 (the model's ordering),
            # and its date hierarchy's MIN/MAX(due_on), over every status.
            models.Index(fields=["due_on", "id"], name="crm_followup_due_idx"),
            # The counts per deadline (COUNT(status) FILTER … over open work), read
            # from the index alone: one person's (dashboard, digest:
            # crm.agenda.bounded_groups) and per project (the dashboard's chart and
            # team counts: FollowUp.objects.deadline_counts_by_project).
            models.Index(
                fields=["assignee", "status", "due_on", "waiting_since"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_mine_idx",
            ),
            models.Index(
                fields=["project", "status", "due_on", "waiting_since"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_project_idx",
            ),
            # crm.tallies: the follow-ups waiting on the partner for less than
            # WAITING_TOO_LONG_DAYS, the few that are not yet "too long".
            # An organisation's page at any age (issue 22): its open follow-ups by
            # due date and each partnership's next one, then its timeline's newest
            # follow-ups, read from the index instead of sorting all of theirs.
            models.Index(
                fields=["organization", "due_on", "id"],
                # The count of agenda.bounded_groups, COUNT(status), from the index alone.
                include=["status"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_org_idx",
            ),
            models.Index(fields=["organization", "created_at"], name="crm_followup_org_new_idx"),
            models.Index(
                fields=["waiting_since"],
                condition=Q(status=FollowUpStatus.WAITING),
                name="crm_followup_waiting_since_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if self._track_waiting() and update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "waiting_since"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("follow-up", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        self._track_waiting()

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES

    def _track_waiting(self) -> bool:
        """Set ``waiting_since`` from the status; tell whether it changed.

        Done on every save rather than by each writer (services, admin, inlines,
        demo, API), so that no path can forget it: the digest's "waiting on the
        partner for more than 14 days" is measured from this date.
        """
        before = self.waiting_since
        if self.status == FollowUpStatus.WAITING:
            self.waiting_since = before or clock.today()
        else:
            self.waiting_since = None
        return self.waiting_since != before

    def is_overdue(self, *, today: date) -> bool:
        """Tell whether it is late on our side, as ``FollowUp.objects.overdue()`` says."""
        return is_overdue(status=self.status, due_on=self.due_on, today=today)

    def is_waiting_too_long(self, *, today: date) -> bool:
        return is_waiting_too_long(
            status=self.status, waiting_since=self.waiting_since, today=today
        )


class OpenFollowUpCount(models.Model):
    """How many open follow-ups a project has in one status, for one assignee.

    Written by the database alone: the triggers of migration 0018 add and take
    away as follow-ups are created, change project, assignee or status, or are
    deleted, whatever does it. The dashboard's counts start from these few rows
    instead of counting every open follow-up (crm.tallies). ``assignee_key`` is
    the assignee's id, 0 for nobody: a key column, so that "nobody" is one row
    per project and status (NULLs would never be equal).
    """

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="+"
    )
    assignee_key = models.BigIntegerField(_("assignee"))
    status = models.CharField(_("status"), max_length=20, choices=FollowUpStatus.choices)
    total = models.BigIntegerField(_("number"))

    class Meta:
        verbose_name = _("open follow-up count")
        verbose_name_plural = _("open follow-up counts")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["project", "assignee_key", "status"],
                name="crm_openfollowupcount_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.assignee_key}/{self.status}: {self.total}"


class FollowUpPlan(models.Model):
    """A reusable series of follow-ups, such as the steps after a first meeting.

    Applied to an interaction (``crm.services.follow_up_plan_apply``), each step
    becomes a follow-up due its offset in days after the interaction.
    """

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active plans are offered on the pages.")
    )
    is_demo = models.BooleanField(
        _("demonstration data"), default=False, help_text=_("Made by load_demo; not a fact.")
    )

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class FollowUpPlanStep(models.Model):
    """One follow-up of a plan, due ``offset_days`` after the interaction."""

    Priority = FollowUpPriority

    plan = models.ForeignKey(
        FollowUpPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="steps"
    )
    offset_days = models.PositiveIntegerField(
        _("days after the interaction"), help_text=_("0 means the day of the interaction.")
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )

    objects = FollowUpPlanStepManager()

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["plan", "offset_days", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "title"], name="crm_followupplanstep_unique"),
            choices_constraint("priority", FollowUpPriority, "followupplanstep"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (+{self.offset_days})"

    def natural_key(self) -> tuple[str, str]:
        return (self.plan.slug, self.title)

    natural_key.dependencies = ["crm.followupplan"]
