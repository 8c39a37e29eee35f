"""Reading a raw e-mail into what the record needs, with the standard library only.

``parse(raw)`` returns a ``ParsedMail``: the original message's parties, date
and subject (a forward is unwrapped to its innermost original, whether attached
or inline), the text body kept whole, a summary without quoted history, the
attachments worth keeping, an invitation when one is carried, and the
message's identity (Message-ID, else a hash of its normalised headers and body).

Nothing here trusts the message: every header read may fail and falls back to
its raw text; counts of parties, parts and forwards are bounded.
"""

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from pathlib import PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.mail.dates import parse_header_date, parse_loose_date, unit_zone
from crm.mail.reasons import Reason
from crm.mail.text import clean_line, html_to_text, normalize_subject, summary_of

# Parties read per header: a message to 1,000 people is read, its list is cut.
MAX_PARTIES = 200
MAX_FORWARD_DEPTH = 20
MAX_PARTS = 500
MAX_ATTACHMENTS = 50
MAX_BODY_CHARS = 1_000_000
# An Outlook .msg file is an OLE2 compound file.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_EMAIL = re.compile(r"[A-Za-z0-9._%+'=-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")


class _ParsedOncePolicy(EmailPolicy):
    """``email.policy.default``, with each header parsed once however often it is read.

    The email package parses a header anew at every read, and reading a part
    asks for its Content-Type and Content-Disposition many times over: that
    was a third of the time spent reading a message. Header objects are
    immutable, so a short header's parsed form is shared between messages.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > _CACHED_HEADER_CHARS:
            return super().header_fetch_parse(name, value)
        return _parsed_header(self, name, value)


# Only short headers are kept (Content-Type, Content-Disposition…): the cache
# holds at most 4,096 of them, a few MB at most.
_CACHED_HEADER_CHARS = 1000


@functools.lru_cache(maxsize=4096)
def _parsed_header(policy: EmailPolicy, name: str, value: str):
    return EmailPolicy.header_fetch_parse(policy, name, value)


POLICY = _ParsedOncePolicy()


NOT_MAIL = gettext_noop("This is not an e-mail message (no mail headers were found).")
TOO_DEEP = gettext_noop("The message is nested too deeply to be read.")
NOT_READABLE = gettext_noop("The message could not be read as e-mail.")


class Unreadable(Exception):
    """A message that cannot be read as e-mail at all; its argument is the Reason.

    str() says the reason in the active language.
    """

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return str(self.reason)


@dataclass(frozen=True)
class Address:
    name: str
    address: str  # lower case

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Invitation:
    uid: str
    method: str  # REQUEST, CANCEL…
    sequence: int
    summary: str
    starts_at: datetime | None
    on: date | None
    location: str
    parties: list[Address] = field(default_factory=list)


@dataclass
class ParsedMail:
    message_id: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    sent_at: datetime | None
    subject: str
    body: str
    summary: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    invitation: Invitation | None = None
    # The colleague who forwarded it, when the message was unwrapped.
    forwarded_by: Address | None = None
    fingerprint: str = ""
    content_key: str = ""
    # The original's own text (a forward's, without the colleague's note).
    original_text: str = ""

    @property
    def parties(self) -> list[Address]:
        """Everyone the original message names, sender first, each once."""
        seen: dict[str, Address] = {}
        for address in [self.sender, *self.to, *self.cc]:
            if address is not None and address.address not in seen:
                seen[address.address] = address
        if self.invitation:
            for address in self.invitation.parties:
                seen.setdefault(address.address, address)
        return list(seen.values())


# -- headers ---------------------------------------------------------------


def _raw_header(message: EmailMessage, name: str) -> str:
    """Return a header as sent, when the parsed form cannot be read."""
    for key, value in message.raw_items() if hasattr(message, "raw_items") else []:
        if key.lower() == name.lower():
            return str(value) if not isinstance(value, bytes) else value.decode("latin-1")
    return ""


def header(message: EmailMessage, name: str, *, limit: int = 500) -> str:
    try:
        value = message.get(name)
        text = str(value) if value is not None else ""
    except Exception:
        text = _raw_header(message, name)
    return clean_line(text, limit=limit)


def _address(name: str, address: str) -> Address | None:
    address = clean_line(address, limit=254).lower()
    if not _EMAIL.fullmatch(address):
        return None
    return Address(clean_line(name, limit=200).strip("\"' "), address)


def addresses(message: EmailMessage, name: str) -> list[Address]:
    """Return the addresses of an address header, bounded, malformed ones skipped."""
    found: list[Address] = []
    try:
        value = message.get(name)
        parsed = list(getattr(value, "addresses", ()))[: MAX_PARTIES * 2] if value else []
        for item in parsed:
            if address := _address(item.display_name, item.addr_spec):
                found.append(address)
    except Exception:
        found = addresses_in(_raw_header(message, name))
    return _unique(found)[:MAX_PARTIES]


def _unique(items: list[Address]) -> list[Address]:
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.address not in seen:
            seen.add(item.address)
            unique.append(item)
    return unique


def addresses_in(text: str) -> list[Address]:
    """Return the parties of a forward's "De : Jean Test <jean.test@…>; …" line."""
    found = []
    for chunk in re.split(r"[;,](?![^<\[]*[>\]])", text[:20_000]):
        match = _EMAIL.search(chunk)
        if not match:
            continue
        name = chunk[: match.start()]
        name = re.sub(r"[<\[(]\s*(mailto:)?\s*$", "", name.strip(), flags=re.I)
        if address := _address(name, match.group()):
            found.append(address)
        if len(found) >= MAX_PARTIES:
            break
    return _unique(found)


# -- bodies ----------------------------------------------------------------


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except Exception:
        pass
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def text_of(message: EmailMessage) -> str:
    """Return the message's own text: the plain part, else its HTML turned into text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        if message.get_content_maintype() == "text" and not message.is_multipart():
            part = message
        else:
            return ""
    # A NUL is no text, and PostgreSQL refuses it in a text column.
    text = _decoded(part)[:MAX_BODY_CHARS].replace("\x00", "")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


# -- forwards --------------------------------------------------------------

_MARKERS = re.compile(
    r"^[ \t>]*(?:"
    r"-{3,}\s*(?:Forwarded message|Forwarded Message|Message transf[ée]r[ée]|"
    r"Original Message|Message d'origine)\s*-{3,}"
    r"|Begin forwarded message\s*:"
    r"|D[ée]but du message r[ée]exp[ée]di[ée]\s*:"
    r"|_{10,}"
    r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook without a rule above its block: "De : …" then "Envoyé : …" next.
_OUTLOOK_BLOCK = re.compile(
    r"^[ \t*]*(?:From|De)[ \t*]*:.*\n[ \t*]*(?:Sent|Envoy[ée]|Date)[ \t*]*:", re.I | re.M
)
_HEADER_LINE = re.compile(r"^[ \t*]*([^\W\d_][^\W\d_' -]{0,20}?)[ \t*]*:[ \t*]*(.*)$")
_LABELS = {
    "from": "from",
    "de": "from",
    "von": "from",
    "sent": "date",
    "envoyé": "date",
    "envoye": "date",
    "date": "date",
    "gesendet": "date",
    "to": "to",
    "à": "to",
    "a": "to",
    "pour": "to",
    "an": "to",
    "cc": "cc",
    "subject": "subject",
    "objet": "subject",
    "sujet": "subject",
    "betreff": "subject",
    "reply-to": "reply_to",
    "répondre à": "reply_to",
}


@dataclass
class _Inline:
    headers: dict[str, str]
    rest: str


def _read_block(lines: list[str]) -> tuple[dict[str, str], int] | None:
    """Read the "Label : value" lines atop ``lines``; return them and where the body starts."""
    headers: dict[str, str] = {}
    last = None
    index = 0
    # Blank lines between the marker and the block.
    while index < len(lines) and not lines[index].strip():
        index += 1
    while index < len(lines) and index < 60:
        line = lines[index]
        if not line.strip():
            break
        match = _HEADER_LINE.match(line)
        label = _LABELS.get(match[1].strip().lower()) if match else None
        if label:
            headers[label] = match[2].strip()
            last = label
        elif last in ("to", "cc") and headers:
            # Outlook wraps a long list of recipients onto the next lines.
            headers[last] += " " + line.strip()
        else:
            break
        index += 1
    if "from" not in headers or not ({"date", "subject"} & headers.keys()):
        return None
    return headers, index


def find_inline_forward(text: str) -> _Inline | None:
    """Return the headers and text of the first message forwarded inline in ``text``."""
    starts = []
    if match := _MARKERS.search(text):
        starts.append((match.start(), match.end()))
    if match := _OUTLOOK_BLOCK.search(text):
        starts.append((match.start(), match.start()))
    for _start, end in sorted(starts):
        lines = text[end:].lstrip("\n").split("\n") if end else text.split("\n")
        lines = [line.lstrip("> ") if line.startswith(">") else line for line in lines]
        block = _read_block(lines)
        if block:
            headers, index = block
            return _Inline(headers, "\n".join(lines[index:]).strip())
    return None


def _attached_original(message: EmailMessage) -> EmailMessage | None:
    """Return the first message/rfc822 part directly under ``message``, if any."""
    if not message.is_multipart():
        return None
    try:
        parts = message.iter_parts()
        for count, part in enumerate(parts):
            if count > MAX_PARTS:
                break
            if part.get_content_type() == "message/rfc822":
                payload = part.get_payload()
                inner = payload[0] if isinstance(payload, list) and payload else None
                if isinstance(inner, EmailMessage):
                    return inner
    except Exception:
        return None
    return None


# -- attachments and invitations -------------------------------------------


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = PurePosixPath(clean_line(name, limit=400).replace("\\", "/")).name
    return name[-200:]


def _is_invitation(part: EmailMessage, filename: str) -> bool:
    return part.get_content_type() in ("text/calendar", "application/ics") or (
        filename.lower().endswith(".ics")
    )


def _is_body_part(part: EmailMessage, filename: str) -> bool:
    disposition = part.get_content_disposition()
    return part.get_content_maintype() == "text" and disposition != "attachment" and not filename


def _is_inline_image(part: EmailMessage) -> bool:
    """An image shown in the text (a logo in a signature, a pasted picture)."""
    if part.get_content_maintype() != "image":
        return False
    return part.get_content_disposition() == "inline" or bool(part.get("Content-ID"))


def read_invitation(text: str) -> Invitation | None:
    """Return the first event of an iCalendar text, or None when it cannot be read."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(text)
        event = next(iter(calendar.walk("VEVENT")), None)
        if event is None:
            return None
        method = str(calendar.get("METHOD", "REQUEST")).upper()[:20]
        uid = clean_line(str(event.get("UID", "")), limit=255)
        if not uid:
            return None
        start = event.decoded("DTSTART") if event.get("DTSTART") else None
        starts_at, on = None, None
        if isinstance(start, datetime):
            if start.tzinfo is None:
                start = start.replace(tzinfo=unit_zone())
            starts_at = start
            on = start.astimezone(unit_zone()).date()
        elif isinstance(start, date):
            on = start
        parties = []
        people = event.get("ATTENDEE", [])
        people = people if isinstance(people, list) else [people]
        organizer = event.get("ORGANIZER")
        for person in ([organizer] if organizer else []) + people[:MAX_PARTIES]:
            value = str(person)
            address = value.split(":", 1)[1] if value.lower().startswith("mailto:") else value
            name = getattr(person, "params", {}).get("CN", "")
            if found := _address(str(name), address):
                parties.append(found)
        try:
            sequence = int(event.get("SEQUENCE", 0))
        except (TypeError, ValueError):
            sequence = 0
        return Invitation(
            uid=uid,
            method=method,
            sequence=max(0, min(sequence, 1_000_000)),
            summary=clean_line(str(event.get("SUMMARY", "")), limit=300),
            starts_at=starts_at,
            on=on,
            location=clean_line(str(event.get("LOCATION", "")), limit=200),
            parties=_unique(parties),
        )
    except Exception:
        return None


def _walk_attachments(message: EmailMessage, parsed: "ParsedMail") -> None:
    max_bytes = settings.CRM_DOCUMENT_MAX_BYTES
    for count, part in enumerate(message.walk()):
        if count > MAX_PARTS:
            parsed.skipped.append({"name": "…", "reason": _("Too many parts; the rest skipped.")})
            break
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        filename = _filename(part)
        if _is_invitation(part, filename):
            if parsed.invitation is None:
                parsed.invitation = read_invitation(_decoded(part)[:MAX_BODY_CHARS])
            continue
        if _is_body_part(part, filename) or _is_inline_image(part):
            continue
        if len(parsed.attachments) >= MAX_ATTACHMENTS:
            parsed.skipped.append(
                {"name": filename, "reason": _("Too many attachments; this one was skipped.")}
            )
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        if not data:
            parsed.skipped.append({"name": filename, "reason": _("The attachment is empty.")})
            continue
        if len(data) > max_bytes:
            parsed.skipped.append(
                {"name": filename, "reason": _("The attachment is larger than the limit.")}
            )
            continue
        parsed.attachments.append(
            Attachment(filename or "attachment", part.get_content_type(), data)
        )


# -- identity --------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


def message_id_fingerprint(message_id: str) -> str:
    return "mid:" + _sha(message_id.strip().strip("<>").strip())


def _minute(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""


def identify(parsed: ParsedMail) -> None:
    """Set the message's fingerprint and content key."""
    sender = parsed.sender.address if parsed.sender else ""
    subject = normalize_subject(parsed.subject)
    if parsed.message_id:
        parsed.fingerprint = message_id_fingerprint(parsed.message_id)
    else:
        text = parsed.original_text or parsed.body
        body = re.sub(r"\s+", " ", text).strip().casefold()[:200_000]
        parties = ",".join(sorted(a.address for a in parsed.to + parsed.cc))
        parsed.fingerprint = "sha:" + _sha(
            "\n".join([sender, _minute(parsed.sent_at), subject, parties, body])
        )
    if parsed.invitation:
        # An invitation's updates share their UID and subject: not one message.
        parsed.content_key = ""
    elif sender and parsed.sent_at:
        parsed.content_key = _sha("\n".join([sender, _minute(parsed.sent_at), subject]))


def raw_identity(raw: bytes) -> str:
    """Return the identity of a message that may not parse: its Message-ID, else its hash."""
    head = raw[:200_000].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"(?im)^message-id[ \t]*:[ \t]*(\S{1,250})", head)
    if match:
        return message_id_fingerprint(match.group(1).decode("latin-1"))
    return "sha:" + hashlib.sha256(raw).hexdigest()


# -- the whole -------------------------------------------------------------


def parse(raw: bytes) -> ParsedMail:
    """Read ``raw`` into a ParsedMail, or raise Unreadable with the reason."""
    if raw.startswith(OLE_MAGIC):
        raise Unreadable(
            Reason(
                gettext_noop(
                    "This is an Outlook .msg file, which cannot be read here. "
                    "In Outlook, save the message as .eml (File › Save as) and send that."
                )
            )
        )
    head = raw[:4096]
    if not raw.strip() or not re.search(rb"(?im)^(from|to|subject|date|message-id)[ \t]*:", head):
        raise Unreadable(
            Reason(gettext_noop("This is not an e-mail message (no mail headers were found)."))
        )
    try:
        message = BytesParser(policy=POLICY).parsebytes(raw)
    except (RecursionError, MemoryError) as error:
        raise Unreadable(
            Reason(gettext_noop("The message is nested too deeply to be read."))
        ) from error
    except Exception as error:
        raise Unreadable(
            Reason(gettext_noop("The message could not be read as e-mail."))
        ) from error
    try:
        return _parse_message(message)
    except RecursionError as error:
        raise Unreadable(
            Reason(gettext_noop("The message is nested too deeply to be read."))
        ) from error


def _parse_message(message: EmailMessage) -> ParsedMail:
    outer_sender = next(iter(addresses(message, "from")), None)
    body = text_of(message)
    current = message
    message_id = header(current, "message-id", limit=255)
    sender = outer_sender
    to, cc = addresses(message, "to"), addresses(message, "cc")
    sent_at = parse_header_date(header(message, "date", limit=200))
    subject = header(message, "subject", limit=500)
    text = body
    unwrapped = False
    for _depth in range(MAX_FORWARD_DEPTH):
        inner = _attached_original(current) if current is not None else None
        if inner is not None:
            current = inner
            message_id = header(inner, "message-id", limit=255)
            sender = next(iter(addresses(inner, "from")), None)
            to, cc = addresses(inner, "to"), addresses(inner, "cc")
            sent_at = parse_header_date(header(inner, "date", limit=200))
            subject = header(inner, "subject", limit=500)
            text = text_of(inner)
            body = f"{body}\n\n---------- Forwarded message ----------\n{text}".strip()
            unwrapped = True
            continue
        inline = find_inline_forward(text)
        if inline is None:
            break
        headers = inline.headers
        inline_sender = next(iter(addresses_in(headers.get("from", ""))), None)
        if inline_sender is None and sender is None:
            break
        current = None  # An inline original has no MIME of its own.
        message_id = ""
        sender = inline_sender
        to = addresses_in(headers.get("to", ""))
        cc = addresses_in(headers.get("cc", ""))
        sent_at = parse_loose_date(headers.get("date", "")) or sent_at
        subject = clean_line(headers.get("subject", ""), limit=500) or subject
        text = inline.rest
        unwrapped = True
    parsed = ParsedMail(
        message_id=message_id,
        sender=sender,
        to=to,
        cc=cc,
        sent_at=sent_at,
        subject=subject,
        body=body[:MAX_BODY_CHARS],
        summary=summary_of(text),
        forwarded_by=outer_sender if unwrapped else None,
        original_text=text[:MAX_BODY_CHARS],
    )
    _walk_attachments(message, parsed)
    identify(parsed)
    return parsed
