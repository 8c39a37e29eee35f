"""Partnerships: created with their first stage, moved from stage to stage, handed to an owner.

Every stage move leaves a ``StageChange`` (who, when, note) beside the
partnership's history row.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.emails import notify_ownership
from crm.models import Organization, Partnership, StageChange
from crm.roles import staff_members
from crm.services.base import clean_reason, lock_for_update, save_with_history
from crm.versions import Version


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
    save_with_history(partnership, by=by)
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
    save_with_history(partnership, by=by, update_fields=["stage", "updated_at"])
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
    reason = clean_reason(reason)
    if owner is not None and not staff_members().filter(pk=owner.pk).exists():
        raise ValidationError({"owner": _("Only a member of staff owns a partnership.")})
    partnership = lock_for_update(partnership, version=version)
    if partnership.owner_id == (owner.pk if owner is not None else None):
        return partnership
    partnership.owner = owner
    save_with_history(partnership, by=by, reason=reason, update_fields=["owner", "updated_at"])
    notify_ownership(partnerships=[partnership], by=by)
    return partnership
