"""The shared mailbox: read it over IMAP with TLS and hand each message to the pipeline.

``fetch`` takes the two callables it hands messages to: the tests drive it against
a real server with plain functions, ``manage.py fetch_mail`` binds it to
``services.mail_receive_many`` and ``services.mail_record_failure``. What it promises:

- A run reads at most ``limit`` messages of the folder, oldest first (UID order);
  the rest wait for the next run.
- A message is downloaded with ``BODY.PEEK[]`` (it stays unread) and handed to
  ``receive`` in a batch of at most BATCH_MESSAGES messages and one message's
  worth of bytes; it is moved to the processed folder only after ``receive``
  returned its receipt. When its outcome is an exception (or ``receive`` raised),
  the error goes to ``record_failure`` and the message stays where it was: the
  next run tries it again, this one does not.
- A message larger than ``max_bytes`` is not downloaded (its size is read first,
  and no more than ``max_bytes`` are ever read of a message in any case): its
  headers are recorded through ``record_failure`` with the reason, then it is moved
  to the refused folder, where it waits for a person. Nothing else is ever moved
  there.
- Nothing is ever deleted. The one expunge is of the message just copied, by its
  UID, on a server that cannot MOVE; a server that has neither MOVE nor UIDPLUS
  keeps the copied original flagged ``\\Deleted`` for its own clients to expunge.

``exclusive_run`` is the lock that keeps two runs (two hosts, or cron catching up
with a slow run) from handing the same message to ``receive`` at the same moment.
"""

from __future__ import annotations

import base64
import contextlib
import email
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.policy import default as default_policy

from django.conf import settings
from django.utils.translation import gettext_noop

from crm import locks
from crm.mail.reasons import Reason

logger = logging.getLogger(__name__)

# Messages one run hands over at most; a backlog drains over several runs.
DEFAULT_LIMIT = 100
# Messages handed to ``receive`` together (the upload page's most, too).
BATCH_MESSAGES = 20
# How much of a refused message's headers is read and recorded.
HEADER_MAX_BYTES = 64 * 1024
# The PostgreSQL advisory lock of fetch_mail: one constant key, any 64-bit value
# no other part of the application uses.
LOCK_KEY = 0x6372_6D5F_6D61_696C  # "crm_mail"

# Takes a batch of messages; returns one outcome each: a receipt, or the
# exception that message raised.
Receive = Callable[[list[bytes]], list[object]]
RecordFailure = Callable[[bytes, "str | Reason"], object]


class MailboxError(Exception):
    """The mailbox cannot be read (unreachable, TLS or login refused, …): the run stops.

    ``report`` holds what the run did before it stopped.
    """

    def __init__(self, message: str, report: FetchReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    user: str
    password: str
    port: int = 993
    security: str = "tls"
    folder: str = "INBOX"
    processed_folder: str = "Traités"
    refused_folder: str = "Refusés"
    cafile: str = ""
    timeout: int = 60
    max_bytes: int = 25 * 1024 * 1024

    @classmethod
    def from_settings(cls) -> MailboxConfig | None:
        """Return the mailbox the settings describe, or None when the door is off."""
        if not settings.CRM_MAIL_IMAP_HOST:
            return None
        return cls(
            host=settings.CRM_MAIL_IMAP_HOST,
            port=settings.CRM_MAIL_IMAP_PORT,
            user=settings.CRM_MAIL_IMAP_USER,
            password=settings.CRM_MAIL_IMAP_PASSWORD,
            security=settings.CRM_MAIL_IMAP_SECURITY,
            folder=settings.CRM_MAIL_IMAP_FOLDER,
            processed_folder=settings.CRM_MAIL_IMAP_PROCESSED_FOLDER,
            refused_folder=settings.CRM_MAIL_IMAP_REFUSED_FOLDER,
            cafile=settings.CRM_MAIL_IMAP_CAFILE,
            timeout=settings.CRM_MAIL_IMAP_TIMEOUT,
            max_bytes=settings.CRM_MAIL_MAX_BYTES,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def check(self) -> None:
        """Raise MailboxError naming the setting that makes this mailbox unusable."""
        if self.security not in ("tls", "starttls"):
            raise MailboxError(f"CRM_MAIL_IMAP_SECURITY={self.security!r}: use tls or starttls.")
        if not self.user or not self.password:
            raise MailboxError(
                "Set CRM_MAIL_IMAP_USER and CRM_MAIL_IMAP_PASSWORD for the shared mailbox."
            )
        folders = {self.folder, self.processed_folder, self.refused_folder}
        if len(folders) < 3 or not all(name.strip() for name in folders):
            raise MailboxError(
                "CRM_MAIL_IMAP_FOLDER, CRM_MAIL_IMAP_PROCESSED_FOLDER and "
                "CRM_MAIL_IMAP_REFUSED_FOLDER must be three different, non-empty folders."
            )
        if self.max_bytes < 1 or self.timeout < 1:
            raise MailboxError("CRM_MAIL_MAX_BYTES and CRM_MAIL_IMAP_TIMEOUT must be 1 or more.")


@dataclass(frozen=True)
class Listed:
    """A message a dry run would fetch."""

    uid: int
    size: int
    sender: str
    subject: str
    date: str


@dataclass
class FetchReport:
    fetched: int = 0  # downloaded and handed to receive
    filed: int = 0  # receive returned; moved to the processed folder
    already: int = 0  # of those filed, messages the record already had
    failed: int = 0  # receive raised: recorded as failures, left in the mailbox
    refused: int = 0  # over the size limit: headers recorded, moved to the refused folder
    vanished: int = 0  # gone between the listing and the download (another client)
    remaining: int = 0  # beyond this run's limit: the next run's
    listed: list[Listed] = field(default_factory=list)
    # What an operator must look at: a failure that could not be recorded, a
    # message that could not be moved. The run carries on past each.
    problems: list[str] = field(default_factory=list)


def fetch(
    *,
    receive: Receive,
    record_failure: RecordFailure,
    limit: int = DEFAULT_LIMIT,
    config: MailboxConfig | None = None,
    dry_run: bool = False,
) -> FetchReport:
    """Hand the folder's oldest ``limit`` messages to ``receive``; move each once stored.

    ``dry_run`` opens the folder read-only and lists what would be fetched.
    """
    config = config or MailboxConfig.from_settings()
    if config is None:
        raise MailboxError("The shared mailbox is off: CRM_MAIL_IMAP_HOST is not set.")
    config.check()
    report = FetchReport()
    try:
        with connect(config) as imap:
            run = _Run(imap, config, receive, record_failure, report)
            if dry_run:
                run.preview(limit)
            else:
                run.fetch(limit)
    except MailboxError as exc:
        exc.report = report
        raise
    except (imaplib.IMAP4.error, OSError) as exc:
        raise MailboxError(
            f"The mail server {config.address} failed during the run: {_text(exc)}", report
        ) from None
    return report


@contextlib.contextmanager
def connect(config: MailboxConfig) -> Iterator[imaplib.IMAP4]:
    """Open a verified TLS session and log in; log out when the block ends."""
    try:
        # Verification stays on: certificate chain and host name.
        context = ssl.create_default_context(cafile=config.cafile or None)
    except OSError as exc:
        raise MailboxError(
            f"CRM_MAIL_IMAP_CAFILE={config.cafile!r} cannot be read: {_text(exc)}"
        ) from None
    except ssl.SSLError as exc:
        raise MailboxError(
            f"CRM_MAIL_IMAP_CAFILE={config.cafile!r} is not a certificate bundle: {_text(exc)}"
        ) from None
    imap = _open(config, context)
    try:
        _login(imap, config)
        yield imap
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


def _open(config: MailboxConfig, context: ssl.SSLContext) -> imaplib.IMAP4:
    where = config.address
    try:
        if config.security == "tls":
            return imaplib.IMAP4_SSL(
                config.host, config.port, ssl_context=context, timeout=config.timeout
            )
        imap = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
        try:
            imap.starttls(context)
        except BaseException:
            imap.shutdown()
            raise
        return imap
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"The certificate of the mail server {where} is not trusted "
            f"({exc.verify_message}): the connection was refused. If the server's "
            "certificate is signed by a private authority, set CRM_MAIL_IMAP_CAFILE to it."
        ) from None
    except ssl.SSLError as exc:
        raise MailboxError(f"TLS with the mail server {where} failed: {_text(exc)}") from None
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            f"The mail server {where} refused STARTTLS: {_text(exc)}. "
            "Set CRM_MAIL_IMAP_SECURITY=tls if it speaks TLS from the start."
        ) from None
    except OSError as exc:
        raise MailboxError(f"Cannot reach the mail server {where}: {_text(exc)}") from None


def _login(imap: imaplib.IMAP4, config: MailboxConfig) -> None:
    try:
        if "AUTH=PLAIN" in imap.capabilities:
            # PLAIN carries any UTF-8 password; LOGIN only ASCII.
            secret = f"\0{config.user}\0{config.password}".encode()
            imap.authenticate("PLAIN", lambda _challenge: secret)
        else:
            imap.login(config.user, config.password)
    except (imaplib.IMAP4.error, UnicodeEncodeError) as exc:
        raise MailboxError(
            f"The mail server {config.address} refused the login of {config.user!r}: {_text(exc)}"
        ) from None


class _Run:
    def __init__(
        self,
        imap: imaplib.IMAP4,
        config: MailboxConfig,
        receive: Receive,
        record_failure: RecordFailure,
        report: FetchReport,
    ) -> None:
        self.imap = imap
        self.config = config
        self.receive = receive
        self.record_failure = record_failure
        self.report = report
        capabilities = server_capabilities(imap)
        self.can_move = "MOVE" in capabilities
        self.can_expunge_one = "UIDPLUS" in capabilities

    def preview(self, limit: int) -> None:
        self._select(readonly=True)
        uids = self._batch(limit)
        sizes = self._sizes(uids)
        for uid in uids:
            if uid not in sizes:
                self.report.vanished += 1
                continue
            headers = self._peek(uid, "HEADER.FIELDS (FROM SUBJECT DATE)", HEADER_MAX_BYTES)
            self.report.listed.append(_listed(uid, sizes[uid], headers or b""))

    def fetch(self, limit: int) -> None:
        for name in (self.config.processed_folder, self.config.refused_folder):
            self._ensure_folder(name)
        self._select(readonly=False)
        uids = self._batch(limit)
        sizes = self._sizes(uids)
        pending: list[tuple[int, bytes]] = []
        for uid in uids:
            size = sizes.get(uid)
            if size is None:
                self.report.vanished += 1
                continue
            if size > self.config.max_bytes:
                self._refuse(uid, size)
                continue
            # A batch holds at most one message's worth (or one message): the
            # memory of a run stays that of the largest message accepted.
            held = sum(len(raw) for _uid, raw in pending)
            if len(pending) >= BATCH_MESSAGES or (pending and held + size > self.config.max_bytes):
                self._hand_over(pending)
                pending = []
            raw = self._download(uid)
            if raw is not None:
                pending.append((uid, raw))
        self._hand_over(pending)

    def _download(self, uid: int) -> bytes | None:
        limit = self.config.max_bytes
        # One byte more than the limit: enough to tell a message that grew past
        # it (or a server that announced the wrong size) without reading it all.
        raw = self._peek(uid, "", limit + 1)
        if raw is None:
            self.report.vanished += 1
            return None
        if len(raw) > limit:
            self._refuse(uid, len(raw))
            return None
        return raw

    def _hand_over(self, pending: list[tuple[int, bytes]]) -> None:
        """Hand a batch to ``receive``; move each message it stored, record each failure."""
        if not pending:
            return
        self.report.fetched += len(pending)
        try:
            outcomes = list(self.receive([raw for _uid, raw in pending]))
        except Exception as exc:
            logger.exception("Mailbox messages UID %s could not be filed", pending[0][0])
            outcomes = [exc] * len(pending)
        for (uid, raw), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, Exception):
                logger.error("Mailbox message UID %s could not be filed", uid, exc_info=outcome)
                self.report.failed += 1
                self._record(raw, f"{type(outcome).__name__}: {outcome}", uid=uid)
                continue
            self.report.filed += 1
            if getattr(outcome, "created", True) is False:
                self.report.already += 1
            self._move(uid, self.config.processed_folder)

    def _refuse(self, uid: int, size: int) -> None:
        self.report.refused += 1
        headers = self._peek(uid, "HEADER", HEADER_MAX_BYTES) or b""
        reason = Reason(
            gettext_noop(
                "The message is %(size)s bytes, more than the %(limit)s bytes accepted "
                "(CRM_MAIL_MAX_BYTES): it was not downloaded. It is in the folder "
                "“%(folder)s” of the shared mailbox."
            ),
            {"size": size, "limit": self.config.max_bytes, "folder": self.config.refused_folder},
        )
        if self._record(headers, reason, uid=uid):
            self._move(uid, self.config.refused_folder)

    def _record(self, raw: bytes, error: str, *, uid: int) -> bool:
        try:
            self.record_failure(raw, error)
        except Exception as exc:
            logger.exception("Mailbox message UID %s: its failure could not be recorded", uid)
            self.report.problems.append(
                f"UID {uid}: the failure could not be recorded ({type(exc).__name__}: {exc}); "
                "the message stays in the mailbox."
            )
            return False
        return True

    def _select(self, *, readonly: bool) -> None:
        typ, data = self.imap.select(_quoted(self.config.folder), readonly=readonly)
        if typ != "OK":
            raise MailboxError(
                f"The folder {self.config.folder!r} of the shared mailbox cannot be opened: "
                f"{_text(data)}"
            )

    def _batch(self, limit: int) -> list[int]:
        # Messages a client already flagged \Deleted are on their way out: not ours.
        typ, data = self.imap.uid("SEARCH", "UNDELETED")
        if typ != "OK":
            raise MailboxError(f"The shared mailbox refused to list its messages: {_text(data)}")
        uids = sorted(int(uid) for uid in b" ".join(item or b"" for item in data).split())
        self.report.remaining = max(0, len(uids) - limit)
        return uids[:limit]

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        typ, data = self.imap.uid("FETCH", _uid_set(uids), "(RFC822.SIZE)")
        if typ != "OK":
            raise MailboxError(f"The shared mailbox refused to give sizes: {_text(data)}")
        sizes = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            uid = re.search(rb"\bUID (\d+)", line or b"")
            size = re.search(rb"\bRFC822\.SIZE (\d+)", line or b"")
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def _peek(self, uid: int, section: str, most: int) -> bytes | None:
        """Return at most ``most`` bytes of the section, leaving the message unread."""
        typ, data = self.imap.uid("FETCH", str(uid), f"(BODY.PEEK[{section}]<0.{most}>)")
        if typ != "OK":
            return None
        for item in data:
            # Other messages' flag changes may come along: take this UID's literal.
            if isinstance(item, tuple) and re.search(rb"\bUID %d\b" % uid, item[0]):
                return item[1]
        return None

    def _move(self, uid: int, folder: str) -> None:
        target = _quoted(folder)
        if self.can_move:
            typ, data = self.imap.uid("MOVE", str(uid), target)
        else:
            typ, data = self.imap.uid("COPY", str(uid), target)
            if typ == "OK":
                typ, data = self.imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
            if typ == "OK" and self.can_expunge_one:
                typ, data = self.imap.uid("EXPUNGE", str(uid))
        if typ != "OK":
            self.report.problems.append(
                f"UID {uid}: stored, but not moved to {folder!r} ({_text(data)}); "
                "the next run will hand it over again, which changes nothing."
            )

    def _ensure_folder(self, name: str) -> None:
        if self._exists(name):
            return
        typ, data = self.imap.create(_quoted(name))
        # Another host may have created it meanwhile.
        if typ != "OK" and not self._exists(name):
            raise MailboxError(
                f"The folder {name!r} cannot be created in the shared mailbox: {_text(data)}"
            )

    def _exists(self, name: str) -> bool:
        typ, data = self.imap.list('""', _quoted(name))
        return typ == "OK" and any(item for item in data)


def server_capabilities(imap: imaplib.IMAP4) -> set[str]:
    """Return what the server can do once logged in (MOVE, UIDPLUS, …)."""
    typ, data = imap.capability()
    if typ != "OK" or not data or not data[0]:
        return set()
    return {word.upper() for word in data[0].decode("ascii", "replace").split()}


def exclusive_run():
    """Hold the one fetch_mail lock of this database (``crm.locks``); yield whether taken."""
    return locks.exclusive_run("fetch_mail", LOCK_KEY)


def encode_folder(name: str) -> str:
    """Return the folder's name in IMAP's modified UTF-7 (RFC 3501, 5.1.3).

    Traités is Trait&AOk-s on the wire.
    """
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quoted(folder: str) -> str:
    encoded = encode_folder(folder).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _listed(uid: int, size: int, headers: bytes) -> Listed:
    try:
        message = email.message_from_bytes(headers, policy=default_policy)
        fields = [str(message.get(name, "")) for name in ("from", "subject", "date")]
    except Exception:
        # A header too broken to decode is still listed, as its bytes.
        fields = [headers.decode("ascii", "replace"), "", ""]
    sender, subject, date = (_one_line(value) for value in fields)
    return Listed(uid=uid, size=size, sender=sender, subject=subject, date=date)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _one_line(value: str, most: int = 200) -> str:
    """Return the value as one printable line: no header or terminal injection."""
    return _CONTROL.sub(" ", value).strip()[:most]


def _text(error: object) -> str:
    """Return an IMAP error or response as readable text (imaplib hands back bytes)."""
    if isinstance(error, BaseException):
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        parts = error.args or (str(error),)
    elif isinstance(error, list | tuple):
        parts = error
    else:
        parts = (error,)
    text = " ".join(
        part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part)
        for part in parts
        if part is not None
    )
    return _one_line(text, most=500) or "no detail given"
