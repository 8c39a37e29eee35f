"""Commitments: what a partner promised, from announced to confirmed and delivered.

Status moves only here: row lock, allowed-transition check, a status-change row
(who, when, note), then ``update_fields``.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Commitment, CommitmentStatusChange, Source
from crm.services.base import record_update, save_with_history
from crm.versions import Version


@transaction.atomic
def commitment_create(*, by: AbstractBaseUser | None, **fields: Any) -> Commitment:
    """Record what a partner promised, announced; its history starts here."""
    fields.pop("status", None)
    commitment = Commitment(created_by=by, status=Commitment.Status.ANNOUNCED, **fields)
    commitment.full_clean()
    save_with_history(commitment, by=by)
    CommitmentStatusChange.objects.create(
        commitment=commitment,
        from_status="",
        to_status=commitment.status,
        changed_at=timezone.now(),
        changed_by=by,
    )
    return commitment


def commitment_update(
    *,
    commitment: Commitment,
    changes: dict[str, Any],
    by: AbstractBaseUser | None,
    version: Version,
    reason: str = "",
) -> Commitment:
    """Correct what was recorded of a commitment (kind, description, amount, date, source).

    Under the commitment's row lock, refused with ``StaleVersion`` when
    ``version`` is no longer its version; only the fields that differ are
    written, with a history row. Its status and the amount delivered move only
    through ``commitment_change_status`` and ``commitment_deliver``.
    """
    return record_update(
        instance=commitment, changes=changes, by=by, version=version, reason=reason
    )


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
    save_with_history(
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
