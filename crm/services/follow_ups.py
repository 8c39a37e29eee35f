"""Follow-ups: created alone or from a plan, then completed, moved, handed over or reopened.

Each state change locks the follow-up, refuses a stale version and leaves a
history row naming who acted (and why, where a reason is asked).
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.emails import notify_assignment
from crm.models import FollowUp, FollowUpPlan, Interaction, Organization, Project
from crm.services.base import clean_reason, lock_for_update, save_with_history
from crm.services.meetings import interaction_log
from crm.versions import Version


def _lock_open(follow_up: FollowUp, *, version: Version = None) -> FollowUp:
    """Return the follow-up locked for update, or refuse if it is closed."""
    follow_up = lock_for_update(follow_up, version=version)
    if not follow_up.is_open:
        raise ValidationError(
            {
                "status": _("This follow-up is already %(status)s.")
                % {"status": follow_up.get_status_display()}
            }
        )
    return follow_up


@transaction.atomic
def follow_up_complete(
    *,
    follow_up: FollowUp,
    by: AbstractBaseUser,
    note: str,
    at: datetime | None = None,
    version: Version = None,
    contact: bool = False,
) -> FollowUp:
    """Mark a follow-up done, recording what was done, by whom and when.

    With ``contact``, doing it was a contact with the partner (a note sent by
    e-mail, a call): an interaction is logged with the follow-up's organisation,
    project and person, dated the day it was done, the note as its summary, and
    kept on the follow-up; the partnership's last contact moves with it.
    """
    note = (note or "").strip()
    if not note:
        raise ValidationError({"completion_note": _("Say what was done.")})
    follow_up = _lock_open(follow_up, version=version)
    if contact and follow_up.organization_id is None:
        raise ValidationError(
            {"contact": _("This follow-up names no organisation: there is no partner to log.")}
        )
    follow_up.status = FollowUp.Status.DONE
    follow_up.completed_at = at or timezone.now()
    follow_up.completed_by = by
    follow_up.completion_note = note
    fields = ["status", "completed_at", "completed_by", "completion_note", "updated_at"]
    if contact:
        follow_up.completion_contact = _log_contact(follow_up, by=by)
        fields.append("completion_contact")
    save_with_history(follow_up, by=by, update_fields=fields)
    return follow_up


def _log_contact(follow_up: FollowUp, *, by: AbstractBaseUser) -> Interaction:
    # Which channel it went through is not asked: "other", the note says it.
    return interaction_log(
        by=by,
        kind=Interaction.Kind.OTHER,
        occurred_on=timezone.localdate(follow_up.completed_at),
        title=follow_up.title,
        summary=follow_up.completion_note,
        organizations=[follow_up.organization],
        projects=[follow_up.project],
        people=[follow_up.person] if follow_up.person is not None else [],
        staff=[by],
    )


@transaction.atomic
def follow_up_reassign(
    *,
    follow_up: FollowUp,
    assignee: AbstractBaseUser,
    by: AbstractBaseUser,
    reason: str = "",
    version: Version = None,
) -> FollowUp:
    """Give an open follow-up to another member of staff, who is told by e-mail."""
    # Finished work changes hands no more: its assignee is who did it.
    reason = clean_reason(reason)
    follow_up = _lock_open(follow_up, version=version)
    if follow_up.assignee_id == assignee.pk:
        return follow_up
    follow_up.assignee = assignee
    save_with_history(follow_up, by=by, reason=reason, update_fields=["assignee", "updated_at"])
    notify_assignment(follow_ups=[follow_up], by=by)
    return follow_up


@transaction.atomic
def follow_up_snooze(
    *,
    follow_up: FollowUp,
    due_on: date,
    reason: str,
    by: AbstractBaseUser,
    today: date | None = None,
    version: Version = None,
) -> FollowUp:
    """Move a follow-up's due date, never into the past; the reason is kept in its history."""
    today = today or timezone.localdate()
    errors = {}
    try:
        reason = clean_reason(reason, required=_("Say why the follow-up is put off."))
    except ValidationError as error:
        errors.update(error.message_dict)
    if due_on is None or due_on < today:
        errors["due_on"] = _("Choose today or a later date.")
    if errors:
        raise ValidationError(errors)
    follow_up = _lock_open(follow_up, version=version)
    follow_up.due_on = due_on
    save_with_history(follow_up, by=by, reason=reason, update_fields=["due_on", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_mark_waiting(
    *, follow_up: FollowUp, by: AbstractBaseUser, version: Version = None
) -> FollowUp:
    """Record that the next move is the partner's."""
    follow_up = _lock_open(follow_up, version=version)
    if follow_up.status == FollowUp.Status.WAITING:
        return follow_up
    follow_up.status = FollowUp.Status.WAITING
    # FollowUp.save() adds waiting_since, which starts counting today.
    save_with_history(follow_up, by=by, update_fields=["status", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_cancel(
    *, follow_up: FollowUp, by: AbstractBaseUser, reason: str, version: Version = None
) -> FollowUp:
    """Cancel an open follow-up: nothing more will be done; the reason is kept in its history."""
    reason = clean_reason(reason, required=_("Say why the follow-up is no longer needed."))
    follow_up = _lock_open(follow_up, version=version)
    follow_up.status = FollowUp.Status.CANCELLED
    save_with_history(follow_up, by=by, reason=reason, update_fields=["status", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_reopen(
    *, follow_up: FollowUp, by: AbstractBaseUser, reason: str, version: Version = None
) -> FollowUp:
    """Open a done or cancelled follow-up again, saying why.

    Reopening clears the completion (when, by whom, what was done, the contact
    logged, which itself stays on record as an interaction): an open
    follow-up has none, and completing it again asks for a new note. Nothing
    is lost: the history row before this one keeps the old completion, and
    this one records who reopened it and why.
    """
    reason = clean_reason(reason, required=_("Say why the follow-up is reopened."))
    follow_up = lock_for_update(follow_up, version=version)
    if follow_up.is_open:
        raise ValidationError({"status": _("This follow-up is open already.")})
    follow_up.status = FollowUp.Status.OPEN
    follow_up.completed_at = None
    follow_up.completed_by = None
    follow_up.completion_note = ""
    # The contact logged stays on record (it happened) but is no longer this
    # follow-up's completion.
    follow_up.completion_contact = None
    save_with_history(
        follow_up,
        by=by,
        reason=reason,
        update_fields=[
            "status",
            "completed_at",
            "completed_by",
            "completion_note",
            "completion_contact",
            "updated_at",
        ],
    )
    return follow_up


@transaction.atomic
def follow_up_create(*, by: AbstractBaseUser, **fields: Any) -> FollowUp:
    """Create a follow-up after checking it against the model's rules.

    Its assignee, unless it is ``by``, is told by e-mail once the transaction
    commits.
    """
    follow_up = _create_follow_up(by=by, **fields)
    notify_assignment(follow_ups=[follow_up], by=by)
    return follow_up


def _create_follow_up(*, by: AbstractBaseUser, **fields: Any) -> FollowUp:
    follow_up = FollowUp(created_by=by, **fields)
    follow_up.full_clean()
    person = follow_up.person
    if person is not None and (person.objects_to_processing or person.erased_at):
        # Law n° 2019-014: a person who objected gets no new reminder about them.
        raise ValidationError(
            {"person": _("This person objects to the processing of their data: name nobody.")}
        )
    save_with_history(follow_up, by=by)
    return follow_up


@transaction.atomic
def follow_up_plan_apply(
    *,
    plan: FollowUpPlan,
    interaction: Interaction,
    by: AbstractBaseUser,
    project: Project | None = None,
    organization: Organization | None = None,
    assignee: AbstractBaseUser | None = None,
    today: date | None = None,
) -> list[FollowUp]:
    """Create one follow-up per step of ``plan``, tied to ``interaction``.

    Each is due the step's offset after the interaction's date, but never before
    today: a plan applied late to an old meeting must not open follow-ups that
    are overdue from birth. The project and organisation default to the
    interaction's own when it has exactly one; the assignee defaults to ``by``.
    """
    today = today or timezone.localdate()
    if project is None:
        projects = list(interaction.projects.all()[:2])
        if len(projects) != 1:
            raise ValidationError({"project": _("Choose the project these follow-ups serve.")})
        project = projects[0]
    if organization is None:
        organizations = list(interaction.organizations.all()[:2])
        organization = organizations[0] if len(organizations) == 1 else None
    steps = list(plan.steps.all())
    if not steps:
        raise ValidationError({"plan": _("This plan has no steps.")})
    created = []
    for step in steps:
        created.append(
            _create_follow_up(
                by=by,
                title=step.title,
                description=step.description,
                priority=step.priority,
                project=project,
                organization=organization,
                interaction=interaction,
                assignee=assignee or by,
                due_on=max(interaction.occurred_on + timedelta(days=step.offset_days), today),
            )
        )
    # One notice for the whole plan, not one per step.
    notify_assignment(follow_ups=created, by=by)
    return created
