"""Writes that touch more than one row, each in one transaction.

Admin, staff pages and API call these functions so that each rule lives in one
place. Bad input raises ``ValidationError`` keyed by field, which forms and
serializers turn into field errors.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.emails import notify_assignment
from crm.models import (
    FollowUp,
    FollowUpPlan,
    Interaction,
    Organization,
    Partnership,
    Project,
    StageChange,
)


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


def _lock_open(follow_up: FollowUp) -> FollowUp:
    """Return the follow-up locked for update, or refuse if it is closed."""
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
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
    *, follow_up: FollowUp, by: AbstractBaseUser, note: str, at=None
) -> FollowUp:
    """Mark a follow-up done, recording what was done, by whom and when."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"completion_note": _("Say what was done.")})
    follow_up = _lock_open(follow_up)
    follow_up.status = FollowUp.Status.DONE
    follow_up.completed_at = at or timezone.now()
    follow_up.completed_by = by
    follow_up.completion_note = note
    _save_with_history(follow_up, by=by)
    return follow_up


@transaction.atomic
def follow_up_reassign(
    *, follow_up: FollowUp, assignee: AbstractBaseUser, by: AbstractBaseUser
) -> FollowUp:
    """Give an open follow-up to another member of staff."""
    # Finished work changes hands no more: its assignee is who did it.
    follow_up = _lock_open(follow_up)
    if follow_up.assignee_id == assignee.pk:
        return follow_up
    follow_up.assignee = assignee
    _save_with_history(follow_up, by=by, update_fields=["assignee", "updated_at"])
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
) -> FollowUp:
    """Move a follow-up's due date; the reason is kept in its history."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the follow-up is put off.")
    if due_on is None or due_on < today:
        errors["due_on"] = _("Choose today or a later date.")
    if errors:
        raise ValidationError(errors)
    follow_up = _lock_open(follow_up)
    follow_up.due_on = due_on
    _save_with_history(follow_up, by=by, reason=reason, update_fields=["due_on", "updated_at"])
    return follow_up


@transaction.atomic
def follow_up_mark_waiting(*, follow_up: FollowUp, by: AbstractBaseUser) -> FollowUp:
    """Record that the next move is the partner's."""
    follow_up = _lock_open(follow_up)
    if follow_up.status == FollowUp.Status.WAITING:
        return follow_up
    follow_up.status = FollowUp.Status.WAITING
    _save_with_history(follow_up, by=by, update_fields=["status", "updated_at"])
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


@transaction.atomic
def partnership_create(*, by: AbstractBaseUser | None, **fields: Any) -> Partnership:
    """Create a partnership and record its first stage as a StageChange from nowhere."""
    partnership = Partnership(**fields)
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
    return partnership


@transaction.atomic
def partnership_change_stage(
    *, partnership: Partnership, to_stage: str, by: AbstractBaseUser | None, note: str = ""
) -> StageChange:
    """Move a partnership to another stage and record the move."""
    if to_stage not in Partnership.Stage.values:
        raise ValidationError({"stage": _("Unknown stage %(stage)r.") % {"stage": to_stage}})
    # Locked so that two people moving the same partner at once record two
    # consecutive changes, not two changes from the same stage.
    partnership = Partnership.objects.select_for_update().get(pk=partnership.pk)
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
    _save_with_history(partnership, by=by, update_fields=["stage", "updated_at"])
    return change


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


# ---------------------------------------------------------------------------
# Commitments, agreements and documents (issue 12).
#
# Status moves only here: row lock, allowed-transition check, a status-change
# row (who, when, note), then ``update_fields``.
# ---------------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from crm.documents import check_upload  # noqa: E402
from crm.models import (  # noqa: E402
    Agreement,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    Source,
)


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
        document.version = previous.version + 1
        for name in ("organization", "interaction", "agreement", "commitment"):
            if getattr(document, f"{name}_id") is None:
                setattr(document, f"{name}_id", getattr(previous, f"{name}_id"))
    document.file = file
    document.full_clean(exclude=["file"])
    _save_with_history(document, by=by)
    return document
