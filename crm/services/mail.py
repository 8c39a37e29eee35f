"""Mail into the record: a message received through any door becomes a meeting, or waits.

``mail_receive_many`` is the one pipeline of the three doors (upload, API,
shared mailbox; ``mail_receive`` is it for one message): size check, parsing
(``crm.mail.parsing``), identity (one message, one record, however often it
arrives), matching (``crm.mail.matching``), then an e-mail meeting with its
attachments as documents, an invitation's planned meeting moved or cancelled,
or an entry of "Courriels à classer" with the reason. Staff then file, create
the sender and file, or discard those entries (``_write`` files them all).

A batch costs a few statements in all, not a few per message: each step reads
or writes every message of the batch at once (docs/mail.md, "Filing rate").
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history

from crm.mail import parsing
from crm.mail.matching import Match, active_project, match, match_many
from crm.mail.parsing import ParsedMail, Unreadable
from crm.mail.reasons import Reason
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
from crm.services.documents import NewDocument, documents_create_many
from crm.services.meetings import NewInteraction, interactions_record

DOORS = {choice.value for choice in MailMessage.Door}
PURGE_BATCH = 500


class MailRefused(Exception):
    """A message refused as a whole; ``str(error)`` says why, in the active language."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return str(self.reason)


@dataclass(frozen=True)
class MailReceipt:
    message: MailMessage
    created: bool


def max_bytes() -> int:
    return settings.CRM_MAIL_MAX_BYTES


def too_large_reason() -> Reason:
    return Reason(
        gettext_noop("The message is larger than the limit of %(limit)s."),
        {"limit": filesizeformat(max_bytes())},
    )


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
    (outcome,) = mail_receive_many([raw], door=door, by=by)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def mail_receive_many(
    raws: list[bytes], *, door: str, by: AbstractBaseUser | None = None
) -> list[MailReceipt | Exception]:
    """Take in several messages (an upload of many files, a mailbox run): one outcome each.

    The same as ``mail_receive`` for each message, in a few statements for all
    of them: each outcome is the message's receipt, or the exception it raised
    (MailRefused at the upload and API doors; anything unexpected at any door,
    for the caller to record or raise). One message's failure never costs
    another: when the batch cannot be written together, each message is taken
    again on its own.
    """
    _check_door(door)
    outcomes: list[MailReceipt | Exception | None] = [None] * len(raws)
    plain: list[_Incoming] = []
    invitations: list[_Incoming] = []
    for index, raw in enumerate(raws):
        try:
            incoming = _Incoming(index, raw, _read(raw))
        except MailRefused as error:
            if door != MailMessage.Door.MAILBOX:
                outcomes[index] = error
                continue
            message = _record_problem(
                raw=raw, door=door, error=error.reason, status=MailMessage.Status.REFUSED
            )
            outcomes[index] = MailReceipt(message, created=True)
            continue
        # An invitation's update may follow its request in the same batch: each
        # is taken on its own, in order, once the earlier ones are on file.
        (invitations if incoming.parsed.invitation else plain).append(incoming)
    batches = [plain] + [[incoming] for incoming in invitations]
    for batch in filter(None, batches):
        try:
            outcomes_of = _receive_together(batch, door=door, by=by)
        except Exception as error:
            if len(batch) == 1:
                outcomes[batch[0].index] = error
                continue
            outcomes_of = {}
            for incoming in batch:
                try:
                    outcomes_of |= _receive_together([incoming], door=door, by=by)
                except Exception as one_error:
                    outcomes_of[incoming.index] = one_error
        for index, outcome in outcomes_of.items():
            outcomes[index] = outcome
    return outcomes


@dataclass
class _Incoming:
    index: int
    raw: bytes
    parsed: ParsedMail
    message: MailMessage | None = None
    # What the message becomes: a meeting of ``plan`` (organisation, project), an
    # earlier invitation's meeting moved or cancelled, or nothing (it waits).
    found: Match | None = None
    plan: tuple[Organization, Project | None] | None = None
    earlier: MailMessage | None = None


def _read(raw: bytes) -> ParsedMail:
    if len(raw) > max_bytes():
        raise MailRefused(too_large_reason())
    try:
        return parsing.parse(raw)
    except Unreadable as error:
        raise MailRefused(error.reason) from None


@transaction.atomic
def _receive_together(
    batch: list[_Incoming], *, door: str, by: AbstractBaseUser | None
) -> dict[int, MailReceipt]:
    """Record the messages of ``batch`` (parsed already) in one transaction."""
    on_file = _on_file([incoming.parsed for incoming in batch])
    receipts: dict[int, MailReceipt] = {}
    fresh: list[_Incoming] = []
    seen: dict[str, MailMessage] = {}  # fingerprints and content keys of this batch
    for incoming in batch:
        parsed = incoming.parsed
        existing = on_file.get(parsed.fingerprint) or on_file.get(parsed.content_key)
        existing = existing or seen.get(parsed.fingerprint) or seen.get(parsed.content_key)
        if existing is not None and not _is_problem(existing):
            receipts[incoming.index] = MailReceipt(existing, created=False)
            _drop_replaced_problem(incoming.raw, keep=existing)
            continue
        incoming.message = existing or MailMessage(fingerprint=parsed.fingerprint)
        _fill(incoming.message, parsed, door=door, by=by)
        seen[parsed.fingerprint] = incoming.message
        if parsed.content_key:
            seen[parsed.content_key] = incoming.message
        fresh.append(incoming)
    for incoming, found in zip(fresh, match_many([i.parsed for i in fresh]), strict=True):
        _plan(incoming, found)
    stored = []
    try:
        with transaction.atomic():
            for incoming in fresh:
                incoming.message.raw.save("message.eml", ContentFile(incoming.raw), save=False)
                stored.append(incoming.message.raw.name)
            _write(fresh, by=by)
    except Exception as error:
        _delete_stored(stored)
        if not isinstance(error, IntegrityError) or len(fresh) != 1:
            raise
        # The same message, received by another worker at the same moment: the
        # same fingerprint, or (a copy and a forward) the same content key.
        parsed = fresh[0].parsed
        winners = _on_file([parsed])
        winner = winners.get(parsed.fingerprint) or winners.get(parsed.content_key)
        if winner is None:
            raise
        receipts[fresh[0].index] = MailReceipt(winner, created=False)
        return receipts
    for incoming in fresh:
        _drop_replaced_problem(incoming.raw, keep=incoming.message)
        receipts[incoming.index] = MailReceipt(incoming.message, created=True)
    return receipts


def _is_problem(message: MailMessage) -> bool:
    return message.status in (MailMessage.Status.FAILED, MailMessage.Status.REFUSED)


def _on_file(messages: list[ParsedMail]) -> dict[str, MailMessage]:
    """Return the records of these messages, by fingerprint and by content key (one query).

    The rows found by fingerprint are locked; a content key names its oldest record.
    """
    fingerprints = {parsed.fingerprint for parsed in messages}
    keys = {parsed.content_key for parsed in messages if parsed.content_key}
    found: dict[str, MailMessage] = {}
    rows = (
        MailMessage.objects.select_for_update()
        .filter(Q(fingerprint__in=fingerprints) | Q(content_key__in=keys))
        .order_by("pk")
    )
    for message in rows:
        if message.fingerprint in fingerprints:
            found[message.fingerprint] = message
        if message.content_key in keys:
            found.setdefault(message.content_key, message)
    return found


def _delete_stored(names: list[str]) -> None:
    """Remove the stored copies of messages whose rows were rolled back."""
    storage = MailMessage._meta.get_field("raw").storage
    for name in names:
        storage.delete(name)


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
    message.set_error("")
    message.received_by = by
    message.skipped_attachments = parsed.skipped
    if parsed.invitation:
        message.invitation_uid = parsed.invitation.uid
        message.invitation_sequence = parsed.invitation.sequence
        message.invitation_method = parsed.invitation.method
        message.invitation_starts_at = parsed.invitation.starts_at


def _plan(incoming: _Incoming, found: Match) -> None:
    """Decide what ``incoming`` becomes: a meeting, an earlier invitation's update, or it waits."""
    message, invitation = incoming.message, incoming.parsed.invitation
    message.filed_by = found.filer or message.received_by
    message.organization = found.organization
    message.person = found.counterpart_person
    message.project = found.project
    incoming.found = found
    if invitation is not None:
        incoming.earlier = _earlier_invitation(invitation.uid, exclude=message)
        if incoming.earlier is not None:
            return
        if invitation.method == "CANCEL":
            found.reason = Reason(
                gettext_noop("The cancellation of an invitation that is not on file.")
            )
        elif invitation.on is None:
            found.reason = Reason(gettext_noop("The invitation has no date."))
    if found.reason:
        message.set_reason(found.reason)
    else:
        incoming.plan = (found.organization, found.project)


def _earlier_invitation(uid: str, *, exclude: MailMessage) -> MailMessage | None:
    earlier = MailMessage.objects.filter(invitation_uid=uid, interaction__isnull=False)
    if exclude.pk is not None:
        earlier = earlier.exclude(pk=exclude.pk)
    return earlier.select_related("interaction").order_by("-invitation_sequence", "-pk").first()


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
        interaction.location = invitation.location or interaction.location
        if invitation.summary:
            interaction.title = invitation.summary
        save_with_history(interaction, by=by, reason=_("Invitation updated"))
    message.interaction = interaction
    message.organization = message.organization or earlier.organization
    message.status = MailMessage.Status.FILED
    message.set_reason(None)


def _meeting(incoming: _Incoming, *, by) -> NewInteraction:
    """Return the meeting ``incoming`` is filed as: an e-mail, or an invitation's meeting."""
    parsed, message = incoming.parsed, incoming.message
    organization, project = incoming.plan
    invitation = parsed.invitation
    if invitation is not None and invitation.on is not None and invitation.method != "CANCEL":
        fields = {
            "kind": Interaction.Kind.MEETING,
            "occurred_on": invitation.on,
            "starts_at": invitation.starts_at,
            "location": invitation.location or None,
            "title": (invitation.summary or strip_subject_prefixes(parsed.subject))[:300],
        }
    else:
        sent = parsed.sent_at or timezone.now()
        fields = {
            "kind": Interaction.Kind.EMAIL,
            "occurred_on": timezone.localtime(sent).date(),
            "title": strip_subject_prefixes(parsed.subject)[:300] or _("(no subject)"),
        }
    return NewInteraction(
        interaction=Interaction(
            created_by=message.filed_by or by, summary=parsed.summary, **fields
        ),
        organizations=[organization],
        projects=[project] if project else [],
        people=[p for p in incoming.found.people if p is not None],
        staff=incoming.found.colleagues,
    )


def _write(batch: list[_Incoming], *, by) -> None:
    """Write the messages of ``batch`` as planned, with their meetings and attachments.

    A few statements for the whole batch: the meetings, their links, the
    attachments kept as documents and the messages are each inserted together.
    """
    for incoming in batch:
        if incoming.earlier is not None:
            _update_invitation(incoming.message, incoming.earlier, incoming.parsed, by=by)
    filing = [incoming for incoming in batch if incoming.plan is not None]
    meetings = interactions_record([_meeting(incoming, by=by) for incoming in filing])
    for incoming, interaction in zip(filing, meetings, strict=True):
        message = incoming.message
        message.interaction = interaction
        message.organization, message.project = incoming.plan
        message.status = MailMessage.Status.FILED
        message.set_reason(None)
    kept = _keep_attachments(filing, by=by)
    new = [incoming.message for incoming in batch if incoming.message.pk is None]
    for message in new:
        message._history_user = by
    bulk_create_with_history(new, MailMessage)
    for incoming in batch:
        if all(incoming.message is not message for message in new):
            save_with_history(incoming.message, by=by)
    MailMessage.documents.through.objects.bulk_create(
        [
            MailMessage.documents.through(mailmessage_id=incoming.message.pk, document_id=d.pk)
            for incoming, documents in zip(filing, kept, strict=True)
            for d in documents
        ]
    )


def _keep_attachments(filing: list[_Incoming], *, by) -> list[list[Document]]:
    """Keep each attachment as a document of its meeting; a file on record already is linked.

    Return each message's documents, in the order of ``filing``. An attachment
    the document checks refuse is listed among the message's skipped
    attachments, with the reason. The same file twice in the batch is kept once.
    """
    digests = [
        [hashlib.sha256(attachment.data).hexdigest() for attachment in incoming.parsed.attachments]
        for incoming in filing
    ]
    known: dict[str, Document | None] = {}
    wanted = {digest for own in digests for digest in own}
    if wanted:
        for document in Document.objects.filter(sha256__in=wanted).order_by("-pk"):
            known[document.sha256] = document  # the oldest comes last, and stays
    new: dict[str, tuple[_Incoming, NewDocument]] = {}
    for incoming, own in zip(filing, digests, strict=True):
        for attachment, digest in zip(incoming.parsed.attachments, own, strict=True):
            if digest not in known and digest not in new:
                by_whom = incoming.message.filed_by or by
                new[digest] = (
                    incoming,
                    NewDocument(
                        by=by_whom,
                        file=ContentFile(attachment.data, name=attachment.filename),
                        title=attachment.filename[:300],
                        attachments={"interaction": incoming.message.interaction},
                    ),
                )
    outcomes = documents_create_many([item for _incoming, item in new.values()])
    for (digest, (incoming, item)), outcome in zip(new.items(), outcomes, strict=True):
        if isinstance(outcome, ValidationError):
            known[digest] = None
            incoming.message.skipped_attachments = [
                *incoming.message.skipped_attachments,
                {"name": item.file.name, "reason": " ".join(outcome.messages)},
            ]
        else:
            known[digest] = outcome
    return [
        list({known[d].pk: known[d] for d in own if known[d] is not None}.values())
        for own in digests
    ]


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
def _record_problem(*, raw: bytes, door: str, error: str | Reason, status: str) -> MailMessage:
    fingerprint = parsing.raw_identity(raw)
    message = MailMessage.objects.select_for_update().filter(fingerprint=fingerprint).first()
    if message is not None and not _is_problem(message):
        return message
    headers = _headers_of(raw)
    message = message or MailMessage(fingerprint=fingerprint)
    message.door = door
    message.status = status
    if isinstance(error, Reason):
        message.set_error(error)
    else:
        message.set_error(clean_line(error, limit=2000) or gettext_noop("Unknown error."))
    message.subject = headers["subject"]
    message.message_id = headers["message_id"]
    sender = headers["from"]
    message.from_name = sender.name if sender else ""
    message.from_address = sender.address if sender else ""
    if not message.raw and len(raw) <= max_bytes():
        message.raw.save("message.eml", ContentFile(raw), save=False)
    save_with_history(message, by=None)
    return message


def mail_record_failure(*, raw: bytes, door: str, error: str | Reason) -> MailMessage:
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
    incoming = _Incoming(index=0, raw=b"", parsed=parsed, message=message, found=match(parsed))
    invitation = parsed.invitation
    if invitation is not None and invitation.method != "CANCEL":
        incoming.earlier = _earlier_invitation(invitation.uid, exclude=message)
    if incoming.earlier is None:
        incoming.plan = (organization, project or active_project(organization))
    _write([incoming], by=by)
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
