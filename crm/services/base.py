"""What every service shares: saving with history, row locks, version checks, reasons.

Each concept's services (``follow_ups``, ``partnerships``…) build on these, so
that who acted, the lock taken and the version checked are written once.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
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
