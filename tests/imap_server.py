"""A real IMAP server for the tests: Dovecot from Debian's packages, on a free high port.

It runs in the foreground of a child process with its own configuration in a
temporary folder (nothing of the system's Dovecot is used or started): implicit TLS
and STARTTLS listeners on 127.0.0.1, a self-signed certificate made at start
with the openssl CLI, a passwd-file of test accounts (one per test: no test sees
another's messages), Maildir storage. ``CRM_REQUIRE_IMAP=1`` (CI) turns its
absence into a failure (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from crm.mail.mailbox import MailboxConfig, encode_folder

START_SECONDS = 15
ACCOUNTS = 500


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot instance; ``start()`` and ``stop()`` bound every wait."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
        self.tls_port = free_port()
        self.starttls_port = free_port()
        self.ca = self.root / "cert.pem"
        self.wrong_ca = self.root / "other-cert.pem"
        self.passwd = self.root / "passwd"
        self.log = self.root / "dovecot.log"
        self.process: subprocess.Popen | None = None
        self._accounts = count(1)
        if os.getuid() == 0:
            # Dovecot refuses to run mail as root: its own users, from the package.
            self.internal_user, self.login_user = "dovecot", "dovenull"
            owner = pwd.getpwnam("dovecot")
        else:
            owner = pwd.getpwuid(os.getuid())
            self.internal_user = self.login_user = owner.pw_name
        self.uid, self.gid = owner.pw_uid, owner.pw_gid

    def start(self) -> None:
        # The mail processes run as the "dovecot" user under root: they must reach
        # their folders (tempfile's default mode is the owner's only).
        self.root.chmod(0o755)
        mail = self.root / "mail"
        mail.mkdir()
        os.chown(mail, self.uid, self.gid)
        for name in ("base", "state"):
            (self.root / name).mkdir()
        _self_signed(self.ca, self.root / "key.pem")
        _self_signed(self.wrong_ca, self.root / "other-key.pem")
        # Every account written before start: Dovecot rereads a changed passwd-file
        # only when it notices, which a test cannot wait for.
        self.passwd.write_text(
            "".join(self._passwd_line(number) for number in range(1, ACCOUNTS + 1))
        )
        config = self.root / "dovecot.conf"
        config.write_text(self._config(mail))
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot stopped at start: {self._diagnosis()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Dovecot did not listen within {START_SECONDS} s: {self._diagnosis()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def add_account(self) -> Account:
        """Return an account no test used yet: its mailbox is empty."""
        number = next(self._accounts)
        if number > ACCOUNTS:
            raise RuntimeError(f"More than {ACCOUNTS} IMAP accounts: raise ACCOUNTS.")
        return Account(server=self, user=f"crm{number}", password=f"secret-{number}")

    def _passwd_line(self, number: int) -> str:
        home = self.root / "mail" / f"crm{number}"
        return f"crm{number}:{{PLAIN}}secret-{number}:{self.uid}:{self.gid}::{home}::\n"

    def _config(self, mail: Path) -> str:
        root = self.root
        return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/base
state_dir = {root}/state
log_path = {self.log}
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
first_valid_uid = 1
auth_mechanisms = plain
ssl = required
ssl_cert = <{self.ca}
ssl_key = <{root}/key.pem
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = {self.passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""

    def _diagnosis(self) -> str:
        log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        return log or "no log written"


def _self_signed(cert: Path, key: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip


@dataclass
class Account:
    """A test user's mailbox, with what the tests need to fill and inspect it."""

    server: Dovecot
    user: str
    password: str

    def config(self, **changes) -> MailboxConfig:
        values = {
            "host": "127.0.0.1",
            "port": self.server.tls_port,
            "user": self.user,
            "password": self.password,
            "cafile": str(self.server.ca),
            "timeout": 10,
        }
        return MailboxConfig(**{**values, **changes})

    def settings(self) -> dict[str, object]:
        """Return the CRM_MAIL_IMAP_* settings of this account."""
        return {
            "CRM_MAIL_IMAP_HOST": "127.0.0.1",
            "CRM_MAIL_IMAP_PORT": self.server.tls_port,
            "CRM_MAIL_IMAP_SECURITY": "tls",
            "CRM_MAIL_IMAP_USER": self.user,
            "CRM_MAIL_IMAP_PASSWORD": self.password,
            "CRM_MAIL_IMAP_CAFILE": str(self.server.ca),
            "CRM_MAIL_IMAP_TIMEOUT": 10,
        }

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        context = ssl.create_default_context(cafile=str(self.server.ca))
        imap = imaplib.IMAP4_SSL(
            "127.0.0.1", self.server.tls_port, ssl_context=context, timeout=10
        )
        try:
            imap.login(self.user, self.password)
            yield imap
        finally:
            imap.logout()

    def append(self, *messages: bytes, folder: str = "INBOX", flags: str | None = None) -> None:
        with self.client() as imap:
            for raw in messages:
                typ, data = imap.append(_quoted(folder), flags, None, raw)
                assert typ == "OK", data

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, set[str]]]:
        """Return the folder's messages, oldest first, with their flags; mark nothing."""
        with self.client() as imap:
            typ, data = imap.select(_quoted(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            found = []
            for item in data:
                if isinstance(item, tuple):
                    flags = imaplib.ParseFlags(item[0])
                    found.append((item[1], {flag.decode() for flag in flags}))
            return found

    def subjects(self, folder: str = "INBOX") -> list[str]:
        return [_subject(raw) for raw, _flags in self.messages(folder)]

    def folders(self) -> set[str]:
        with self.client() as imap:
            _typ, data = imap.list()
        return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if line}


def _quoted(folder: str) -> str:
    return '"' + encode_folder(folder) + '"'


def _subject(raw: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"subject:"):
            return line[8:].strip().decode()
    return ""


def message(
    subject: str,
    *,
    sender: str = "jean.test@mastercard.com",
    body: str = "Bonjour,\r\n\r\nVoici la note conceptuelle.\r\n",
    message_id: str | None = None,
) -> bytes:
    """Return a small plain-text message as the tests need it."""
    message_id = message_id or f"<{subject.replace(' ', '-')}@mastercard.com>"
    return (
        f"From: Jean Test <{sender}>\r\n"
        "To: Unité de coordination <partenariats@mcc-togo.example>\r\n"
        f"Subject: {subject}\r\n"
        "Date: Tue, 14 Oct 2025 10:12:00 +0000\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{body}"
    ).encode()
