"""Agreements: recorded in draft with their parties, signed party by party, moved to expiry.

Status moves only here: row lock, allowed-transition check, a status-change row
(who, when, note), then ``update_fields``.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import (
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    FollowUp,
    Organization,
    Project,
)
from crm.services.base import (
    REASON_MAX_LENGTH,
    lock_for_update,
    save_with_history,
    update_with_links,
)
from crm.services.follow_ups import follow_up_create
from crm.versions import Version


@transaction.atomic
def agreement_create(
    *,
    by: AbstractBaseUser | None,
    parties: Iterable[Organization] = (),
    projects: Iterable[Project] = (),
    **fields: Any,
) -> Agreement:
    """Record an agreement in draft, with its parties and projects."""
    fields.pop("status", None)
    agreement = Agreement(created_by=by, status=Agreement.Status.DRAFT, **fields)
    agreement.full_clean()
    save_with_history(agreement, by=by)
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
def agreement_update(
    *,
    agreement: Agreement,
    changes: dict[str, Any],
    by: AbstractBaseUser | None,
    version: Version,
    parties: Iterable[Organization] | None = None,
    projects: Iterable[Project] | None = None,
    reason: str = "",
) -> Agreement:
    """Correct an agreement: its fields and, when given, its parties and projects.

    Under the agreement's row lock, refused with ``StaleVersion`` when
    ``version`` is no longer its version; only what differs is written, and the
    history row names the parties and projects added or removed. A party that
    has signed, or has signatories, is not removed: its signature would be
    lost. The status moves only through ``agreement_change_status``.
    """
    # Parties are rows of their own (with a signature date), not a plain
    # many-to-many: they are checked and written here, under the same lock.
    current = lock_for_update(agreement, version=version)
    told = ""
    if parties is not None:
        told = _set_parties(current, list(parties))
    links = {"projects": list(projects)} if projects is not None else {}
    return update_with_links(
        instance=current,
        changes=changes,
        links=links,
        by=by,
        version=None,
        reason="; ".join(line for line in [reason, told] if line),
        locked=True,
        changed=bool(told),
    )


def _set_parties(agreement: Agreement, organizations: list[Organization]) -> str:
    """Make ``organizations`` the parties of ``agreement``; say who was added or removed."""
    if not organizations:
        raise ValidationError({"parties": _("Name at least one party.")})
    parties = agreement.parties.select_related("organization").annotate(
        signers=Count("signatories")
    )
    current = {party.organization_id: party for party in parties}
    wanted = {organization.pk: organization for organization in organizations}
    removed = [current[pk] for pk in current.keys() - wanted.keys()]
    kept_signed = [party for party in removed if party.signed_on or party.signers]
    if kept_signed:
        raise ValidationError(
            {
                "parties": _(
                    "A party that signed or has signatories cannot be removed: %(parties)s."
                )
                % {"parties": ", ".join(str(party) for party in kept_signed)}
            }
        )
    added = sorted((wanted[pk] for pk in wanted.keys() - current.keys()), key=str)
    if removed:
        AgreementParty.objects.filter(pk__in=[party.pk for party in removed]).delete()
    AgreementParty.objects.bulk_create(
        AgreementParty(agreement=agreement, organization=organization) for organization in added
    )
    if not added and not removed:
        return ""
    told = [f"+{item}" for item in added] + [f"−{party}" for party in sorted(removed, key=str)]
    return f"{_('Parties')}: {', '.join(told)}"


@transaction.atomic
def agreement_party_sign(
    *,
    party: AgreementParty,
    signed_on: date | None,
    by: AbstractBaseUser | None,
    version: Version = None,
) -> AgreementParty:
    """Record the date ``party`` signed its agreement, or clear it with ``None``.

    ``version`` is the agreement's: the agreement's row is the one locked, as
    ``agreement_change_status`` locks it before reading the parties' dates, so
    that an agreement is never marked signed while a date is changing. A party
    keeps no history of its own: the agreement's history row names who
    recorded the date, and when.
    """
    agreement = lock_for_update(party.agreement, version=version)
    # Read again under the agreement's lock: the copy given may be stale.
    party = AgreementParty.objects.select_related("organization").get(pk=party.pk)
    if party.signed_on == signed_on:
        return party
    party.signed_on = signed_on
    party.save(update_fields=["signed_on"])
    reason = _("Signature date of %(party)s: %(date)s") % {
        "party": party,
        "date": signed_on.isoformat() if signed_on else "—",
    }
    save_with_history(
        agreement, by=by, reason=reason[:REASON_MAX_LENGTH], update_fields=["updated_at"]
    )
    return party


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
    save_with_history(agreement, by=by, reason=change.note, update_fields=fields)
    return change


@transaction.atomic
def agreement_obligation_create(
    *, agreement: Agreement, by: AbstractBaseUser, **fields: Any
) -> FollowUp:
    """Turn an obligation of an agreement into a follow-up (due date, assignee)."""
    return follow_up_create(by=by, agreement=agreement, **fields)
