"""Writes that touch more than one row, each in one transaction.

Admin, staff pages and API call these functions so that each rule lives in one
place. Bad input raises ``ValidationError`` keyed by field, which forms and
serializers turn into field errors.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.emails import notify_assignment, notify_ownership
from crm.models import (
    FollowUp,
    FollowUpPlan,
    Interaction,
    Organization,
    Partnership,
    Project,
    StageChange,
)
from crm.roles import staff_members
from crm.versions import Version, check_version

# Fields that carry a workflow's state: each changes only through its own
# service below (with its checks, its history row and its notices), never
# through a generic edit.
STATE_FIELDS: dict[type, frozenset[str]] = {
    FollowUp: frozenset(
        {
            "status",
            "assignee",
            "due_on",
            "completed_at",
            "completed_by",
            "completion_note",
            "waiting_since",
        }
    ),
    Partnership: frozenset({"stage", "owner"}),
}


def _save_with_history(
    instance, *, by: AbstractBaseUser | None, reason: str = "", **kwargs
) -> None:
    # django-simple-history records this user on the history row; outside a
    # request there is no middleware to tell it who acted.
    instance._history_user = by
    if reason:
        # Stored in the history row's history_change_reason.
        instance._change_reason = reason
    instance.save(**kwargs)


def lock_for_update(instance, *, version: Version):
    """Return ``instance`` read again under a row lock, refusing a stale ``version``.

    The one lock of the request: the caller's version (an edit form's hidden
    field, an API client's If-Match) is checked under it, so that nobody can
    change the record between the check and the write.
    """
    current = type(instance)._base_manager.select_for_update().get(pk=instance.pk)
    check_version(current, version)
    return current


@transaction.atomic
def record_create(*, instance, by: AbstractBaseUser | None, reason: str = ""):
    """Check ``instance`` against the model's rules and save it, recording who made it."""
    instance.full_clean()
    _save_with_history(instance, by=by, reason=reason)
    return instance


def _differs(instance, name: str, value: Any) -> bool:
    field = instance._meta.get_field(name)
    if field.many_to_one or field.one_to_one:
        # Compare keys, so that an unloaded relation costs no query.
        return getattr(instance, field.attname) != getattr(value, "pk", value)
    return getattr(instance, name) != value


@transaction.atomic
def record_update(
    *,
    instance,
    changes: dict[str, Any],
    by: AbstractBaseUser | None,
    version: Version,
    reason: str = "",
    locked: bool = False,
):
    """Save ``changes`` to ``instance``, writing only the fields whose value differs.

    The row is read again under a lock. When ``version`` is given (an edit form's
    hidden field, an API client's If-Match) and no longer names the record's
    current version, nothing is saved and ``StaleVersion`` says who changed it
    meanwhile. The rules of the model are checked on the fresh row, so a change
    that was valid on the stale copy but clashes with the newer one is refused.
    State fields are refused outright: they change through their own services.
    ``locked`` says that ``instance`` is already the row read under lock in
    this transaction (by ``lock_for_update``, as the admin's forms do while
    validating): it is not read again. Return the saved record.
    """
    model = type(instance)
    forbidden = STATE_FIELDS.get(model, frozenset()) & changes.keys()
    if forbidden:
        raise ValueError(
            f"{model.__name__}: {', '.join(sorted(forbidden))} change through their own service"
        )
    current = instance if locked else lock_for_update(instance, version=version)
    changed = [name for name, value in changes.items() if _differs(current, name, value)]
    if not changed:
        return current
    for name in changed:
        setattr(current, name, changes[name])
    unchanged = [field.name for field in model._meta.fields if field.name not in changed]
    current.clean_fields(exclude=unchanged)
    current.clean()
    current.validate_unique(exclude=unchanged)
    # Every constraint, not only those on the changed fields: a new end date
    # must still come after the start date someone else has just moved.
    current.validate_constraints()
    stamp = ["updated_at"] if any(f.name == "updated_at" for f in model._meta.fields) else []
    _save_with_history(current, by=by, reason=reason, update_fields=[*changed, *stamp])
    return current


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


# The history row keeps the reason of a change in a column of this size.
REASON_MAX_LENGTH = 100


def _reason(value: str, *, required: str = "") -> str:
    """Return the reason of a change, stripped; ``required`` is the message when it is missing."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({"reason": required})
    if len(value) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Say it in at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}}
        )
    return value


@transaction.atomic
def follow_up_complete(
    *,
    follow_up: FollowUp,
    by: AbstractBaseUser,
    note: str,
    at: datetime | None = None,
    version: Version = None,
) -> FollowUp:
    """Mark a follow-up done, recording what was done, by whom and when."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"completion_note": _("Say what was done.")})
    follow_up = _lock_open(follow_up, version=version)
    follow_up.status = FollowUp.Status.DONE
    follow_up.completed_at = at or timezone.now()
    follow_up.completed_by = by
    follow_up.completion_note = note
    _save_with_history(
        follow_up,
        by=by,
        update_fields=["status", "completed_at", "completed_by", "completion_note", "updated_at"],
    )
    return follow_up


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
    reason = _reason(reason)
    follow_up = _lock_open(follow_up, version=version)
    if follow_up.assignee_id == assignee.pk:
        return follow_up
    follow_up.assignee = assignee
    _save_with_history(follow_up, by=by, reason=reason, update_fields=["assignee", "updated_at"])
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
        reason = _reason(reason, required=_("Say why the follow-up is put off."))
    except ValidationError as error:
        errors.update(error.message_dict)
    if due_on is None or due_on < today:
        errors["due_on"] = _("Choose today or a later date.")
    if errors:
        raise ValidationError(errors)
    follow_up = _lock_open(follow_up, version=version)
    follow_up.due_on = due_on
    _save_with_history(follow_up, by=by, reason=reason, update_fields=["due_on", "updated_at"])
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
    _save_with_history(follow_up, by=by, update_fields=["status", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_cancel(
    *, follow_up: FollowUp, by: AbstractBaseUser, reason: str, version: Version = None
) -> FollowUp:
    """Cancel an open follow-up: nothing more will be done; the reason is kept in its history."""
    reason = _reason(reason, required=_("Say why the follow-up is no longer needed."))
    follow_up = _lock_open(follow_up, version=version)
    follow_up.status = FollowUp.Status.CANCELLED
    _save_with_history(follow_up, by=by, reason=reason, update_fields=["status", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_reopen(
    *, follow_up: FollowUp, by: AbstractBaseUser, reason: str, version: Version = None
) -> FollowUp:
    """Open a done or cancelled follow-up again, saying why.

    Reopening clears the completion (when, by whom, what was done): an open
    follow-up has none, and completing it again asks for a new note. Nothing
    is lost: the history row before this one keeps the old completion, and
    this one records who reopened it and why.
    """
    reason = _reason(reason, required=_("Say why the follow-up is reopened."))
    follow_up = lock_for_update(follow_up, version=version)
    if follow_up.is_open:
        raise ValidationError({"status": _("This follow-up is open already.")})
    follow_up.status = FollowUp.Status.OPEN
    follow_up.completed_at = None
    follow_up.completed_by = None
    follow_up.completion_note = ""
    _save_with_history(
        follow_up,
        by=by,
        reason=reason,
        update_fields=["status", "completed_at", "completed_by", "completion_note", "updated_at"],
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
    _save_with_history(follow_up, by=by)
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


def lock_partnerships_of(organization: Organization) -> None:
    """Make partnerships of ``organization`` be added one at a time, until the transaction ends.

    There is no partnership row to lock before it exists: the organisation's
    row stands in, so that the uniqueness check of (organisation, project) made
    after this sees what a concurrent writer has just added.
    """
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()


@transaction.atomic
def partnership_create(*, by: AbstractBaseUser | None, **fields: Any) -> Partnership:
    """Create a partnership and record its first stage as a StageChange from nowhere.

    Its owner, unless it is ``by``, is told by e-mail once the transaction commits.
    """
    partnership = Partnership(**fields)
    if partnership.organization_id is not None:
        lock_partnerships_of(partnership.organization)
    partnership.full_clean()
    _save_with_history(partnership, by=by)
    # The history starts here: from_stage="" says the partnership came into
    # being at this stage rather than moving to it.
    StageChange.objects.create(
        partnership=partnership,
        from_stage="",
        to_stage=partnership.stage,
        changed_at=timezone.now(),
        changed_by=by,
        note="",
    )
    # An owner other than its maker hears of it, as after assign-owner.
    notify_ownership(partnerships=[partnership], by=by)
    return partnership


@transaction.atomic
def partnership_change_stage(
    *,
    partnership: Partnership,
    to_stage: str,
    by: AbstractBaseUser | None,
    note: str = "",
    version: Version = None,
) -> StageChange:
    """Move a partnership to another stage and record the move."""
    if to_stage not in Partnership.Stage.values:
        raise ValidationError({"stage": _("Unknown stage %(stage)r.") % {"stage": to_stage}})
    # Locked so that two people moving the same partner at once record two
    # consecutive changes, not two changes from the same stage.
    partnership = lock_for_update(partnership, version=version)
    if partnership.stage == to_stage:
        raise ValidationError({"stage": _("The partnership is already at this stage.")})
    change = StageChange.objects.create(
        partnership=partnership,
        from_stage=partnership.stage,
        to_stage=to_stage,
        changed_at=timezone.now(),
        changed_by=by,
        note=note.strip(),
    )
    partnership.stage = to_stage
    # The note is the StageChange's; the history row links to the same moment.
    _save_with_history(partnership, by=by, update_fields=["stage", "updated_at"])
    return change


@transaction.atomic
def partnership_assign_owner(
    *,
    partnership: Partnership,
    owner: AbstractBaseUser | None,
    by: AbstractBaseUser | None,
    reason: str = "",
    version: Version = None,
) -> Partnership:
    """Give a partnership to another owner (or to nobody); the new owner is told by e-mail."""
    reason = _reason(reason)
    if owner is not None and not staff_members().filter(pk=owner.pk).exists():
        raise ValidationError({"owner": _("Only a member of staff owns a partnership.")})
    partnership = lock_for_update(partnership, version=version)
    if partnership.owner_id == (owner.pk if owner is not None else None):
        return partnership
    partnership.owner = owner
    _save_with_history(partnership, by=by, reason=reason, update_fields=["owner", "updated_at"])
    notify_ownership(partnerships=[partnership], by=by)
    return partnership


@transaction.atomic
def interaction_log(
    *,
    by: AbstractBaseUser | None,
    kind: str,
    occurred_on: date,
    title: str,
    organizations: Iterable[Organization],
    projects: Iterable = (),
    people: Iterable = (),
    staff: Iterable = (),
    follow_ups: Iterable[dict[str, Any]] = (),
    **fields: Any,
) -> Interaction:
    """Record an interaction with its participants and the follow-ups it opened.

    Each item of ``follow_ups`` holds FollowUp field values (title, project,
    due_on, assignee…). Either everything is saved or nothing is.
    """
    organizations = list(organizations)
    if not organizations:
        raise ValidationError({"organizations": _("Name at least one organisation.")})
    interaction = Interaction(
        kind=kind, occurred_on=occurred_on, title=title, created_by=by, **fields
    )
    interaction.full_clean(exclude=["slug"])
    _save_with_history(interaction, by=by)
    interaction.organizations.set(organizations)
    interaction.projects.set(projects)
    interaction.people.set(people)
    interaction.staff.set(staff)

    errors: dict[str, list] = {}
    saved = []
    for index, values in enumerate(follow_ups):
        follow_up = FollowUp(interaction=interaction, created_by=by, **values)
        try:
            follow_up.full_clean(exclude=["interaction"])
        except ValidationError as error:
            errors[f"follow_ups[{index}]"] = error.messages
            continue
        _save_with_history(follow_up, by=by)
        saved.append(follow_up)
    if errors:
        # Raised after checking every follow-up, so the user sees all mistakes at
        # once; the transaction then rolls back the interaction too.
        raise ValidationError(errors)
    notify_assignment(follow_ups=saved, by=by)
    return interaction
