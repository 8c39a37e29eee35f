"""Mail into the record: a message received through any door becomes a meeting, or waits.

``mail_receive`` is the one pipeline of the three doors (upload, API, shared
mailbox): size check, parsing (``crm.mail.parsing``), identity (one message,
one record, however often it arrives), matching (``crm.mail.matching``), then
an e-mail meeting with its attachments as documents, an invitation's planned
meeting moved or cancelled, or an entry of "Courriels à classer" with the
reason. Staff then file, create the sender and file, or discard those entries.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.mail import parsing
from crm.mail.matching import Match, active_project, match
from crm.mail.parsing import ParsedMail, Unreadable
from crm.mail.text import clean_line, strip_subject_prefixes
from crm.models import (
    Document,
    Interaction,
    MailMessage,
    Organization,
    Person,
    Project,
)
from crm.services.base import clean_reason, save_with_history
from crm.services.directory import person_create
from crm.services.documents import document_create
from crm.services.meetings import interaction_log

DOORS = {choice.value for choice in MailMessage.Door}
PURGE_BATCH = 500


class MailRefused(Exception):
    """A message refused as a whole; ``str(error)`` is a user-facing reason."""


@dataclass(frozen=True)
class MailReceipt:
    message: MailMessage
    created: bool


def max_bytes() -> int:
    return settings.CRM_MAIL_MAX_BYTES


def too_large_reason() -> str:
    return _("The message is larger than the limit of %(limit)s.") % {
        "limit": filesizeformat(max_bytes())
    }


def _check_door(door: str) -> None:
    if door not in DOORS:
        raise ValueError(f"Unknown door {door!r}")


# -- receiving ---------------------------------------------------------------


def mail_receive(*, raw: bytes, door: str, by: AbstractBaseUser | None = None) -> MailReceipt:
    """Take in one message; return its record, ``created=False`` when it was on file already.

    The upload and API doors raise MailRefused for mail that cannot be taken
    (too large, not e-mail, an Outlook .msg); the mailbox door records it in
    "Courriels à classer" with the reason instead, and never raises for bad mail.
    """
    _check_door(door)
    try:
        if len(raw) > max_bytes():
            raise MailRefused(too_large_reason())
        try:
            parsed = parsing.parse(raw)
        except Unreadable as error:
            raise MailRefused(str(error)) from None
    except MailRefused as error:
        if door != MailMessage.Door.MAILBOX:
            raise
        message = _record_problem(
            raw=raw, door=door, error=str(error), status=MailMessage.Status.REFUSED
        )
        return MailReceipt(message, created=True)
    return _receive_parsed(raw=raw, parsed=parsed, door=door, by=by)


@transaction.atomic
def _receive_parsed(
    *, raw: bytes, parsed: ParsedMail, door: str, by: AbstractBaseUser | None
) -> MailReceipt:
    existing = _on_file(parsed)
    if existing is not None and not _is_problem(existing):
        _drop_replaced_problem(raw, keep=existing)
        return MailReceipt(existing, created=False)
    message = existing or MailMessage(fingerprint=parsed.fingerprint)
    _fill(message, parsed, door=door, by=by)
    try:
        with transaction.atomic():
            message.raw.save("message.eml", ContentFile(raw), save=False)
            save_with_history(message, by=by)
    except IntegrityError:
        # The same message, received by another worker at the same moment: the
        # same fingerprint, or (a copy and a forward) the same content key.
        winner = _on_file(parsed)
        if winner is None:
            raise
        return MailReceipt(winner, created=False)
    _drop_replaced_problem(raw, keep=message)
    _process(message, parsed, by=by)
    return MailReceipt(message, created=True)


def _is_problem(message: MailMessage) -> bool:
    return message.status in (MailMessage.Status.FAILED, MailMessage.Status.REFUSED)


def _on_file(parsed: ParsedMail) -> MailMessage | None:
    """Return the record of this message, found by fingerprint, else by content key."""
    found = MailMessage.objects.select_for_update().filter(fingerprint=parsed.fingerprint).first()
    if found is None and parsed.content_key:
        found = MailMessage.objects.filter(content_key=parsed.content_key).order_by("pk").first()
    return found


def _drop_replaced_problem(raw: bytes, *, keep: MailMessage) -> None:
    """Remove the failure a retry of this message has now replaced."""
    identity = parsing.raw_identity(raw)
    if identity == keep.fingerprint:
        # The fingerprint is unique and ``keep`` holds it: no other record has
        # it (the common case, a message not forwarded), so no query.
        return
    MailMessage.objects.filter(
        fingerprint=identity,
        status__in=[MailMessage.Status.FAILED, MailMessage.Status.REFUSED],
    ).exclude(pk=keep.pk).delete()


def _fill(message: MailMessage, parsed: ParsedMail, *, door: str, by) -> None:
    message.message_id = parsed.message_id[:255]
    message.content_key = parsed.content_key
    message.from_name = parsed.sender.name if parsed.sender else ""
    message.from_address = parsed.sender.address if parsed.sender else ""
    message.to_addresses = [str(a) for a in parsed.to]
    message.cc_addresses = [str(a) for a in parsed.cc]
    message.sent_at = parsed.sent_at
    message.subject = parsed.subject[:500]
    message.body = parsed.body
    message.summary = parsed.summary
    message.door = door
    message.status = MailMessage.Status.TO_FILE
    message.error = ""
    message.received_by = by
    message.skipped_attachments = parsed.skipped
    if parsed.invitation:
        message.invitation_uid = parsed.invitation.uid
        message.invitation_sequence = parsed.invitation.sequence
        message.invitation_method = parsed.invitation.method
        message.invitation_starts_at = parsed.invitation.starts_at


def _process(message: MailMessage, parsed: ParsedMail, *, by) -> None:
    """File ``message`` by itself when it can be, else leave it to file with the reason."""
    found = match(parsed)
    message.filed_by = found.filer or by
    message.organization = found.organization
    message.person = found.counterpart_person
    message.project = found.project
    invitation = parsed.invitation
    if invitation is not None:
        earlier = _earlier_invitation(invitation.uid, exclude=message)
        if earlier is not None:
            _update_invitation(message, earlier, parsed, by=by)
            return
        if invitation.method == "CANCEL":
            found.reason = _("The cancellation of an invitation that is not on file.")
        elif invitation.on is None:
            found.reason = _("The invitation has no date.")
    if found.reason:
        message.reason = found.reason
        save_with_history(message, by=by)
        return
    _file(message, parsed, found, organization=found.organization, project=found.project, by=by)


def _earlier_invitation(uid: str, *, exclude: MailMessage) -> MailMessage | None:
    return (
        MailMessage.objects.filter(invitation_uid=uid, interaction__isnull=False)
        .exclude(pk=exclude.pk)
        .select_related("interaction")
        .order_by("-invitation_sequence", "-pk")
        .first()
    )


def _update_invitation(message: MailMessage, earlier: MailMessage, parsed, *, by) -> None:
    """Move the planned meeting of an earlier invitation, or cancel it."""
    invitation = parsed.invitation
    interaction = Interaction.objects.select_for_update().get(pk=earlier.interaction_id)
    if invitation.method == "CANCEL":
        interaction.cancelled_at = interaction.cancelled_at or timezone.now()
        save_with_history(interaction, by=by, reason=_("Invitation cancelled"))
    elif invitation.sequence >= earlier.invitation_sequence and invitation.on is not None:
        interaction.occurred_on = invitation.on
        interaction.starts_at = invitation.starts_at
        interaction.cancelled_at = None
        if invitation.summary:
            interaction.title = invitation.summary
        save_with_history(interaction, by=by, reason=_("Invitation updated"))
    message.interaction = interaction
    message.organization = message.organization or earlier.organization
    message.status = MailMessage.Status.FILED
    message.reason = ""
    save_with_history(message, by=by)


def _file(
    message: MailMessage,
    parsed: ParsedMail,
    found: Match,
    *,
    organization: Organization,
    project: Project | None,
    by,
) -> None:
    """Record the message's meeting with its parties and attachments; mark it filed."""
    filer = message.filed_by or by
    invitation = parsed.invitation
    people = [p for p in found.people if p is not None]
    if invitation is not None and invitation.on is not None and invitation.method != "CANCEL":
        fields = {
            "kind": Interaction.Kind.MEETING,
            "occurred_on": invitation.on,
            "starts_at": invitation.starts_at,
            "title": (invitation.summary or strip_subject_prefixes(parsed.subject))[:300],
        }
    else:
        sent = parsed.sent_at or timezone.now()
        fields = {
            "kind": Interaction.Kind.EMAIL,
            "occurred_on": timezone.localtime(sent).date(),
            "title": strip_subject_prefixes(parsed.subject)[:300] or _("(no subject)"),
        }
    interaction = interaction_log(
        by=filer,
        organizations=[organization],
        projects=[project] if project else [],
        people=people,
        staff=found.colleagues,
        summary=parsed.summary,
        **fields,
    )
    message.interaction = interaction
    message.organization = organization
    message.project = project
    message.status = MailMessage.Status.FILED
    message.reason = ""
    save_with_history(message, by=by)
    _keep_attachments(message, parsed, interaction=interaction, by=filer)


def _keep_attachments(message: MailMessage, parsed: ParsedMail, *, interaction, by) -> None:
    """Keep each attachment as a document of the meeting; a file on record already is linked."""
    skipped = list(message.skipped_attachments)
    for attachment in parsed.attachments:
        digest = hashlib.sha256(attachment.data).hexdigest()
        document = Document.objects.filter(sha256=digest).order_by("pk").first()
        if document is None:
            try:
                with transaction.atomic():
                    document = document_create(
                        by=by,
                        file=ContentFile(attachment.data, name=attachment.filename),
                        title=attachment.filename[:300],
                        interaction=interaction,
                    )
            except ValidationError as error:
                skipped.append({"name": attachment.filename, "reason": " ".join(error.messages)})
                continue
        message.documents.add(document)
    if skipped != message.skipped_attachments:
        message.skipped_attachments = skipped
        message.save(update_fields=["skipped_attachments", "updated_at"])


# -- failures ----------------------------------------------------------------


def _headers_of(raw: bytes) -> dict[str, str]:
    """Read what can be read of a message that did not parse, for the list to show."""
    try:
        from email import policy
        from email.parser import BytesHeaderParser

        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:65536])
        return {
            "subject": parsing.header(headers, "subject", limit=500),
            "from": next(iter(parsing.addresses(headers, "from")), None),
            "message_id": parsing.header(headers, "message-id", limit=255),
        }
    except Exception:
        return {"subject": "", "from": None, "message_id": ""}


@transaction.atomic
def _record_problem(*, raw: bytes, door: str, error: str, status: str) -> MailMessage:
    fingerprint = parsing.raw_identity(raw)
    message = MailMessage.objects.select_for_update().filter(fingerprint=fingerprint).first()
    if message is not None and not _is_problem(message):
        return message
    headers = _headers_of(raw)
    message = message or MailMessage(fingerprint=fingerprint)
    message.door = door
    message.status = status
    message.error = clean_line(error, limit=2000) or _("Unknown error.")
    message.subject = headers["subject"]
    message.message_id = headers["message_id"]
    sender = headers["from"]
    message.from_name = sender.name if sender else ""
    message.from_address = sender.address if sender else ""
    if not message.raw and len(raw) <= max_bytes():
        message.raw.save("message.eml", ContentFile(raw), save=False)
    save_with_history(message, by=None)
    return message


def mail_record_failure(*, raw: bytes, door: str, error: str) -> MailMessage:
    """Record (or update) a "to file" entry for a message whose processing crashed.

    Keyed by the message's Message-ID, else the hash of its bytes, so that a
    later retry that succeeds replaces it.
    """
    _check_door(door)
    return _record_problem(raw=raw, door=door, error=error, status=MailMessage.Status.FAILED)


# -- the to-file list ----------------------------------------------------------


def _lock_waiting(message: MailMessage) -> MailMessage:
    current = MailMessage.objects.select_for_update().get(pk=message.pk)
    if current.status != MailMessage.Status.TO_FILE:
        raise ValidationError(_("This message is not waiting to be filed any more."))
    return current


def _reparse(message: MailMessage) -> ParsedMail:
    if message.raw:
        with message.raw.open("rb") as handle:
            return parsing.parse(handle.read(max_bytes() + 1))
    raise ValidationError(_("The message as received is no longer kept; it cannot be filed."))


@transaction.atomic
def mail_file(
    *,
    message: MailMessage,
    organization: Organization,
    project: Project | None = None,
    by: AbstractBaseUser | None,
) -> MailMessage:
    """File a waiting message with ``organization`` (and ``project``) as its meeting."""
    message = _lock_waiting(message)
    try:
        parsed = _reparse(message)
    except Unreadable as error:
        raise ValidationError(str(error)) from None
    found = match(parsed)
    if project is None:
        project = active_project(organization)
    invitation = parsed.invitation
    if invitation is not None and invitation.method != "CANCEL":
        earlier = _earlier_invitation(invitation.uid, exclude=message)
        if earlier is not None:
            _update_invitation(message, earlier, parsed, by=by)
            return message
    _file(message, parsed, found, organization=organization, project=project, by=by)
    return message


@transaction.atomic
def mail_create_sender(
    *,
    message: MailMessage,
    organization: Organization,
    project: Project | None = None,
    by: AbstractBaseUser | None,
) -> MailMessage:
    """Record the sender as a person of ``organization`` (from the header), then file."""
    message = _lock_waiting(message)
    address = message.from_address
    if not address:
        raise ValidationError(_("The message has no sender's address."))
    if Person.objects.filter(email__iexact=address).exists():
        raise ValidationError(_("%(address)s is on file already.") % {"address": address})
    name = message.from_name or address.partition("@")[0].replace(".", " ").title()
    given, _space, family = name.partition(" ")
    if not family:
        given, family = "", given
    person_create(
        by=by,
        given_name=given[:100],
        family_name=family[:100] or address[:100],
        email=address,
        organization=organization,
        title=_("Correspondent"),
    )
    return mail_file(message=message, organization=organization, project=project, by=by)


@transaction.atomic
def mail_discard(*, message: MailMessage, reason: str, by: AbstractBaseUser | None) -> MailMessage:
    """Take a message out of the list without filing it, saying why."""
    reason = clean_reason(reason, required=_("Say why the message is discarded."))
    message = MailMessage.objects.select_for_update().get(pk=message.pk)
    if not message.is_waiting:
        raise ValidationError(_("This message is not waiting to be filed any more."))
    message.status = MailMessage.Status.DISCARDED
    message.discard_reason = reason
    save_with_history(message, by=by, reason=reason)
    return message


def mail_purge_bodies(*, now: datetime) -> int:
    """Blank the bodies and stored messages past their retention; return how many.

    The meeting, the headers and the attachments (documents of the meeting) stay.
    Safe to run twice: a purged message is not purged again.
    """
    purged = 0
    while True:
        with transaction.atomic():
            batch = list(
                MailMessage.objects.body_expired(now=now)
                .select_for_update(skip_locked=True)
                .order_by("pk")[:PURGE_BATCH]
            )
            if not batch:
                return purged
            for message in batch:
                if message.raw:
                    message.raw.delete(save=False)
                message.body = ""
                message.summary = ""
                message.body_purged_at = now
                message.save(update_fields=["body", "summary", "raw", "body_purged_at"])
            purged += len(batch)
