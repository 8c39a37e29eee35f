"""What every service shares: saving with history, row locks, version checks, reasons.

Each concept's services (``follow_ups``, ``partnerships``…) build on these, so
that who acted, the lock taken and the version checked are written once.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm.models import Agreement, Commitment, FollowUp, Partnership
from crm.versions import Version, check_version

# Fields that carry a workflow's state: each changes only through its own
# service (with its checks, its history row and its notices), never through a
# generic edit such as ``record_update``.
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


def save_with_history(
    instance, *, by: AbstractBaseUser | None, reason: str = "", **kwargs
) -> None:
    """Save ``instance``, naming ``by`` (and ``reason``) on the history row it leaves."""
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
    save_with_history(instance, by=by, reason=reason)
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
    save_with_history(current, by=by, reason=reason, update_fields=[*changed, *stamp])
    return current


# The history row keeps the reason of a change in a column of this size.
REASON_MAX_LENGTH = 100


def set_related(instance, name: str, values: Iterable, *, by_name: bool = True) -> str:
    """Make the many-to-many ``name`` of ``instance`` hold ``values``; say what changed.

    Only the links added or removed are written. Return a line for the history
    row's reason ("Organisations: +Visa, −Mastercard"), "" when nothing changed:
    simple-history keeps no rows for many-to-many links, so the record's own
    row says it. ``by_name=False`` counts the links instead of naming them (for
    people: their names are personal data, which the history must not keep
    beyond the person's record).
    """
    manager = getattr(instance, name)
    before = {item.pk: item for item in manager.all()}
    after = {item.pk: item for item in values}
    added = sorted((after[pk] for pk in after.keys() - before.keys()), key=str)
    removed = sorted((before[pk] for pk in before.keys() - after.keys()), key=str)
    if not added and not removed:
        return ""
    if removed:
        manager.remove(*removed)
    if added:
        manager.add(*added)
    if by_name:
        told = [f"+{item}" for item in added] + [f"−{item}" for item in removed]
    else:
        told = [f"+{len(added)}"] * bool(added) + [f"−{len(removed)}"] * bool(removed)
    label = capfirst(instance._meta.get_field(name).verbose_name)
    return f"{label}: {', '.join(told)}"


def update_with_links(
    *,
    instance,
    changes: dict[str, Any],
    links: dict[str, Iterable],
    by: AbstractBaseUser | None,
    version: Version,
    reason: str = "",
    anonymous: frozenset[str] = frozenset(),
    locked: bool = False,
    changed: bool = False,
):
    """Save ``changes`` and set the many-to-many ``links`` of ``instance``, as one edit.

    The row is locked and its version checked once, before anything is written
    (``StaleVersion`` when it is stale); only the fields and links that differ
    are written. When a link changed, the record is saved too (its version
    moves on, so that a copy opened before is refused) and its history row
    says which links changed. ``anonymous`` names the links counted, not named,
    in that row (see ``set_related``). ``locked`` says that ``instance`` was
    read under lock (and its version checked) in this transaction already;
    ``changed`` that the caller changed rows of its own (an agreement's
    parties) that the history row's reason tells. Return the saved record.
    """
    with transaction.atomic():
        current = instance if locked else lock_for_update(instance, version=version)
        told = [
            set_related(current, name, values, by_name=name not in anonymous)
            for name, values in links.items()
        ]
        linked = "; ".join(line for line in [reason, *told] if line)
        if len(linked) > REASON_MAX_LENGTH:
            linked = linked[: REASON_MAX_LENGTH - 1] + "…"
        stamp = current.updated_at
        current = record_update(
            instance=current, changes=changes, by=by, version=None, reason=linked, locked=True
        )
        if current.updated_at == stamp and (changed or any(told)):
            # No field changed, only links: still one history row, naming them.
            save_with_history(current, by=by, reason=linked, update_fields=["updated_at"])
        return current


def clean_reason(value: str, *, required: str = "") -> str:
    """Return the reason of a change, stripped; ``required`` is the message when it is missing."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({"reason": required})
    if len(value) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Say it in at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}}
        )
    return value
