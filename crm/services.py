"""Writes that touch more than one row, each in one transaction.

Admin, staff pages and API call these functions so that each rule lives in one
place. Bad input raises ``ValidationError`` keyed by field, which forms and
serializers turn into field errors.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.documents import check_upload
from crm.emails import notify_assignment, notify_ownership
from crm.models import (
    Affiliation,
    Agreement,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    FollowUp,
    FollowUpPlan,
    Interaction,
    Organization,
    Partnership,
    Person,
    Project,
    Source,
    StageChange,
)
from crm.roles import staff_members
from crm.slugs import unique_slug
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
    Commitment: frozenset({"status", "amount_delivered"}),
    Agreement: frozenset({"status"}),
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


# The directory, from the staff pages (issue 11).


@transaction.atomic
def person_create(
    *,
    by: AbstractBaseUser | None,
    given_name: str,
    family_name: str,
    organization: Organization | None = None,
    title: str = "",
    **fields: Any,
) -> Person:
    """Record a person and, when ``organization`` is given, the role they hold there.

    The first current role of a person is their primary one.
    """
    person = Person(given_name=given_name.strip(), family_name=family_name.strip(), **fields)
    person.slug = unique_slug(Person, f"{person.given_name} {person.family_name}")
    record_create(instance=person, by=by)
    if organization is not None:
        record_create(
            instance=Affiliation(
                person=person, organization=organization, title=title.strip(), is_primary=True
            ),
            by=by,
        )
    return person


# Merging duplicates (issue 11). Every row that points at the record merged is
# moved to the record kept, found from the model's relations so that a model
# added later is moved too; a move that would break a rule of the database is
# resolved as below, or the whole merge is refused.


def _link_models() -> tuple:
    from crm.models import InteractionOrganization, InteractionPerson, MissionMember

    return (InteractionOrganization, InteractionPerson, MissionMember)


def _derived_models() -> tuple:
    # Kept by the database from the links themselves: they follow the links moved.
    from crm.models import LastInteraction

    return (LastInteraction,)


def links_to(model) -> list:
    """Return the foreign keys that point at ``model``, history and derived tables excepted."""
    return [
        relation.field
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
        and not relation.related_model._meta.model_name.startswith("historical")
        and relation.related_model not in _derived_models()
    ]


def _clashes(row) -> bool:
    """Tell whether ``row``, now pointing at the record kept, breaks a unique rule."""
    try:
        row.validate_unique()
        row.validate_constraints()
    except ValidationError:
        return True
    return False


def _save_moved(row, field_name: str, *, by, reason: str) -> None:
    fields = [field_name]
    if any(f.name == "updated_at" for f in row._meta.fields):
        fields.append("updated_at")
    if hasattr(type(row), "history"):
        _save_with_history(row, by=by, reason=reason, update_fields=fields)
    else:
        row.save(update_fields=fields)


def _resolve_clash(row, field_name: str, kept, *, by, reason: str, today: date) -> str:
    """Move a row that duplicates one the record kept already has; return what was done."""
    if isinstance(row, Affiliation):
        # The same role twice: the moved copy is ended (roles are never deleted);
        # a second primary role becomes a plain one.
        if row.is_primary:
            row.is_primary = False
            if not _clashes(row):
                _save_with_history(row, by=by, reason=reason)
                return "moved"
        row.end_on = max(row.start_on or today, today)
        _save_with_history(row, by=by, reason=reason)
        return "ended"
    if isinstance(row, Partnership):
        # Both records are partners of the same project: the kept partnership
        # stays, the other's stage history and notes join it.
        current = Partnership.objects.select_for_update().get(
            organization=kept, project_id=row.project_id
        )
        # Whatever hangs on the other partnership (its stage changes, and any
        # record a later model ties to a partnership) moves to the kept one.
        _merge(current, row, by=by, reason=reason, today=today)
        if row.notes.strip() and row.notes.strip() not in current.notes:
            current.notes = "\n\n".join(filter(None, [current.notes.strip(), row.notes.strip()]))
            _save_with_history(
                current, by=by, reason=reason, update_fields=["notes", "updated_at"]
            )
        row._change_reason = reason
        row._history_user = by
        row.delete()
        return "folded"
    if isinstance(row, _link_models()):
        # A link table (meeting ↔ organisation, mission ↔ person…): the record
        # kept is already linked, the duplicate link goes.
        row.delete()
        return "dropped"
    raise ValidationError(
        _("%(model)s: cannot be moved without breaking a rule; nothing was merged.")
        % {"model": row._meta.verbose_name}
    )


def _merge(kept, other, *, by, reason: str, today: date) -> dict[str, int]:
    moved: dict[str, int] = {}
    for field in links_to(type(kept)):
        model = field.model
        rows = model._base_manager.select_for_update().filter(**{field.name: other}).order_by("pk")
        for row in rows:
            setattr(row, field.name, kept)
            if _clashes(row):
                outcome = _resolve_clash(row, field.name, kept, by=by, reason=reason, today=today)
            else:
                _save_moved(row, field.name, by=by, reason=reason)
                outcome = "moved"
            key = f"{model._meta.model_name}.{outcome}"
            moved[key] = moved.get(key, 0) + 1
    return moved


def _lock_pair(model, kept, other):
    if kept.pk == other.pk:
        raise ValidationError({"other": _("Choose two different records.")})
    # Locked in the order of their keys, so two merges of the same pair wait
    # for each other instead of deadlocking.
    rows = {
        row.pk: row
        for row in model.objects.select_for_update()
        .filter(pk__in=[kept.pk, other.pk])
        .order_by("pk")
    }
    if len(rows) != 2:
        raise ValidationError(_("One of the two records no longer exists."))
    return rows[kept.pk], rows[other.pk]


def _fill_blanks(kept, other, names: list[str]) -> list[str]:
    """Take the other's value for each field the record kept leaves blank."""
    filled = []
    for name in names:
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
            filled.append(name)
    return filled


def _record_merge(kind, kept, other, *, by, reason: str, moved: dict, filled: list[str]):
    from crm.models import Merge

    note = _("Merged “%(name)s” (%(slug)s) into this record.") % {
        "name": other,
        "slug": other.slug,
    }
    # The removed record's history ends with a row saying where it went.
    other._history_user = by
    other._change_reason = (_("Merged into “%(name)s”.") % {"name": kept})[:100]
    other_id, other_slug, other_name = other.pk, other.slug, str(other)
    other.delete()
    _save_with_history(kept, by=by, reason=note[:100], update_fields=[*filled, "updated_at"])
    return Merge.objects.create(
        kind=kind,
        kept_id=kept.pk,
        kept_name=str(kept),
        removed_id=other_id,
        removed_slug=other_slug,
        removed_name=other_name,
        moved=moved,
        reason=reason.strip(),
        merged_at=timezone.now(),
        merged_by=by,
    )


@transaction.atomic
def organization_merge(
    *, kept: Organization, other: Organization, by: AbstractBaseUser, reason: str = ""
):
    """Merge ``other`` into ``kept``: every link, role, meeting, partnership and follow-up moves.

    Both histories are kept (the removed record's rows stay in its history
    table, ending with its removal) and a ``Merge`` row records what happened.
    Blank fields of the record kept take the other's values. Return the Merge.
    """
    from crm.models import Merge

    kept, other = _lock_pair(Organization, kept, other)
    today = timezone.localdate()
    note = reason.strip() or _("merge of duplicates")
    moved = _merge(kept, other, by=by, reason=note[:100], today=today)
    filled = _fill_blanks(kept, other, ["short_name", "country", "city", "website", "description"])
    if not kept.is_identified and other.is_identified:
        # A placeholder merged with a real organisation is resolved.
        kept.is_identified = True
        filled.append("is_identified")
    return _record_merge(
        Merge.Kind.ORGANIZATION, kept, other, by=by, reason=reason, moved=moved, filled=filled
    )


@transaction.atomic
def person_merge(*, kept: Person, other: Person, by: AbstractBaseUser, reason: str = ""):
    """Merge ``other`` into ``kept``, as ``organization_merge`` does for organisations."""
    from crm.models import Merge

    kept, other = _lock_pair(Person, kept, other)
    today = timezone.localdate()
    note = reason.strip() or _("merge of duplicates")
    moved = _merge(kept, other, by=by, reason=note[:100], today=today)
    email = other.email if not kept.email else ""
    filled = _fill_blanks(kept, other, ["phone", "notes"])
    merge = _record_merge(
        Merge.Kind.PERSON, kept, other, by=by, reason=reason, moved=moved, filled=filled
    )
    if email:
        # Only once the other is gone: two people may not share an address.
        kept.email = email
        _save_with_history(kept, by=by, reason=note[:100], update_fields=["email", "updated_at"])
    return merge


# ---------------------------------------------------------------------------
# Commitments, agreements and documents (issue 12).
#
# Status moves only here: row lock, allowed-transition check, a status-change
# row (who, when, note), then ``update_fields``.
# ---------------------------------------------------------------------------


@transaction.atomic
def commitment_create(*, by: AbstractBaseUser | None, **fields: Any) -> Commitment:
    """Record what a partner promised, announced; its history starts here."""
    fields.pop("status", None)
    commitment = Commitment(created_by=by, status=Commitment.Status.ANNOUNCED, **fields)
    commitment.full_clean()
    _save_with_history(commitment, by=by)
    CommitmentStatusChange.objects.create(
        commitment=commitment,
        from_status="",
        to_status=commitment.status,
        changed_at=timezone.now(),
        changed_by=by,
    )
    return commitment


def _lock_commitment(commitment: Commitment, to_status: str) -> Commitment:
    if to_status not in Commitment.Status.values:
        raise ValidationError({"status": _("Unknown status %(status)r.") % {"status": to_status}})
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    if to_status not in Commitment.TRANSITIONS[commitment.status]:
        raise ValidationError(
            {
                "status": _("A commitment cannot go from “%(from)s” to “%(to)s”.")
                % {
                    "from": commitment.get_status_display(),
                    "to": Commitment.Status(to_status).label,
                }
            }
        )
    return commitment


def _record_commitment_move(
    commitment: Commitment,
    *,
    to_status: str,
    by: AbstractBaseUser | None,
    note: str,
    amount: Decimal | None = None,
    fields: list[str],
) -> CommitmentStatusChange:
    change = CommitmentStatusChange.objects.create(
        commitment=commitment,
        from_status=commitment.status,
        to_status=to_status,
        amount=amount,
        changed_at=timezone.now(),
        changed_by=by,
        note=(note or "").strip(),
    )
    commitment.status = to_status
    _save_with_history(
        commitment, by=by, reason=change.note, update_fields=[*fields, "status", "updated_at"]
    )
    return change


@transaction.atomic
def commitment_change_status(
    *,
    commitment: Commitment,
    to_status: str,
    by: AbstractBaseUser | None,
    note: str = "",
    source: Source | None = None,
) -> CommitmentStatusChange:
    """Confirm, withdraw or mark lapsed a commitment, recording the move.

    Confirming needs evidence: a Source (given here or already set) or a kept
    document attached to the commitment. Delivery goes through
    ``commitment_deliver``, which records the amount.
    """
    if to_status == Commitment.Status.DELIVERED:
        raise ValidationError({"status": _("Record a delivery with its amount.")})
    commitment = _lock_commitment(commitment, to_status)
    fields = []
    if source is not None and source.pk != commitment.source_id:
        commitment.source = source
        fields.append("source")
    if (
        to_status == Commitment.Status.CONFIRMED
        and commitment.source_id is None
        and not commitment.documents.exists()
    ):
        raise ValidationError(
            {"source": _("Confirming a commitment needs a source or an attached document.")}
        )
    return _record_commitment_move(
        commitment, to_status=to_status, by=by, note=note, fields=fields
    )


@transaction.atomic
def commitment_deliver(
    *,
    commitment: Commitment,
    amount: Decimal | None,
    by: AbstractBaseUser | None,
    note: str = "",
    final: bool = False,
) -> CommitmentStatusChange:
    """Record a part delivered of a confirmed commitment.

    The commitment becomes delivered when the parts reach its amount, or when
    ``final`` says nothing more will come (a commitment without an amount, in
    kind for instance, is delivered with ``final`` and no amount).
    """
    commitment = _lock_commitment(commitment, Commitment.Status.DELIVERED)
    if amount is not None and amount <= 0:
        raise ValidationError({"amount": _("Give a positive amount.")})
    if amount is None and not final:
        raise ValidationError({"amount": _("Give the amount delivered.")})
    delivered = commitment.amount_delivered + (amount or 0)
    complete = final or (commitment.amount is not None and delivered >= commitment.amount)
    commitment.amount_delivered = delivered
    to_status = Commitment.Status.DELIVERED if complete else commitment.status
    return _record_commitment_move(
        commitment,
        to_status=to_status,
        by=by,
        note=note,
        amount=amount,
        fields=["amount_delivered"],
    )


@transaction.atomic
def agreement_create(
    *,
    by: AbstractBaseUser | None,
    parties: Iterable[Organization] = (),
    projects: Iterable[Project] = (),
    **fields: Any,
) -> Agreement:
    """Record an agreement in draft, with its parties and projects."""
    from crm.models import AgreementParty

    fields.pop("status", None)
    agreement = Agreement(created_by=by, status=Agreement.Status.DRAFT, **fields)
    agreement.full_clean()
    _save_with_history(agreement, by=by)
    agreement.projects.set(projects)
    AgreementParty.objects.bulk_create(
        AgreementParty(agreement=agreement, organization=organization) for organization in parties
    )
    AgreementStatusChange.objects.create(
        agreement=agreement,
        from_status="",
        to_status=agreement.status,
        changed_at=timezone.now(),
        changed_by=by,
    )
    return agreement


@transaction.atomic
def agreement_change_status(
    *,
    agreement: Agreement,
    to_status: str,
    by: AbstractBaseUser | None,
    note: str = "",
    effective_on: date | None = None,
    today: date | None = None,
) -> AgreementStatusChange:
    """Move an agreement along draft → under review → signed → in force → expired.

    Signing needs at least two parties, each with its signature date; coming
    into force needs the effective date (given here or already set); it expires
    only on or after its expiry date. Termination is possible until it ends.
    """
    today = today or timezone.localdate()
    if to_status not in Agreement.Status.values:
        raise ValidationError({"status": _("Unknown status %(status)r.") % {"status": to_status}})
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if to_status not in Agreement.TRANSITIONS[agreement.status]:
        raise ValidationError(
            {
                "status": _("An agreement cannot go from “%(from)s” to “%(to)s”.")
                % {
                    "from": agreement.get_status_display(),
                    "to": Agreement.Status(to_status).label,
                }
            }
        )
    fields = ["status", "updated_at"]
    if to_status == Agreement.Status.SIGNED:
        dates = list(agreement.parties.values_list("signed_on", flat=True))
        if len(dates) < 2 or None in dates:
            raise ValidationError(
                {"status": _("Record at least two parties, each with its signature date.")}
            )
    if to_status == Agreement.Status.IN_FORCE:
        if effective_on is not None and effective_on != agreement.effective_on:
            agreement.effective_on = effective_on
            fields.append("effective_on")
        if agreement.effective_on is None:
            raise ValidationError({"effective_on": _("Give the date it comes into force.")})
        if agreement.expires_on and agreement.expires_on < agreement.effective_on:
            raise ValidationError({"effective_on": _("It would come into force after expiry.")})
    if to_status == Agreement.Status.EXPIRED and (
        agreement.expires_on is None or agreement.expires_on > today
    ):
        raise ValidationError({"status": _("The agreement has not reached its expiry date.")})
    change = AgreementStatusChange.objects.create(
        agreement=agreement,
        from_status=agreement.status,
        to_status=to_status,
        changed_at=timezone.now(),
        changed_by=by,
        note=(note or "").strip(),
    )
    agreement.status = to_status
    _save_with_history(agreement, by=by, reason=change.note, update_fields=fields)
    return change


@transaction.atomic
def agreement_obligation_create(
    *, agreement: Agreement, by: AbstractBaseUser, **fields: Any
) -> FollowUp:
    """Turn an obligation of an agreement into a follow-up (due date, assignee)."""
    follow_up = _create_follow_up(by=by, agreement=agreement, **fields)
    notify_assignment(follow_ups=[follow_up], by=by)
    return follow_up


@transaction.atomic
def document_create(
    *,
    by: AbstractBaseUser | None,
    file,
    title: str,
    previous_version: Document | None = None,
    **attachments: Any,
) -> Document:
    """Keep an uploaded file, checked from its content; a new version never overwrites.

    A new version takes the attachments of the one it replaces, which must be
    the latest (locked, so two uploads cannot both replace it).
    """
    checked = check_upload(file)
    document = Document(
        title=title,
        original_name=(file.name or "document")[-255:],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        **attachments,
    )
    if previous_version is not None:
        previous = Document.objects.select_for_update().get(pk=previous_version.pk)
        if Document.objects.filter(previous_version=previous).exists():
            raise ValidationError(
                {"previous_version": _("A newer version of this document exists already.")}
            )
        document.previous_version = previous
        document.revision = previous.revision + 1
        for name in ("organization", "interaction", "agreement", "commitment"):
            if getattr(document, f"{name}_id") is None:
                setattr(document, f"{name}_id", getattr(previous, f"{name}_id"))
    document.file = file
    document.full_clean(exclude=["file"])
    _save_with_history(document, by=by)
    return document
