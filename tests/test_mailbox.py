"""The shared-mailbox door against a real IMAP server (Dovecot, tests/imap_server.py).

``fetch`` is driven with plain functions for ``receive`` and ``record_failure``:
what it hands over, when it moves, what it leaves, what it refuses. Tests that
use the server (the ``imap_account`` fixture) skip without Dovecot, and fail
for it where CI sets CRM_REQUIRE_IMAP=1.
"""

import threading
import time
from dataclasses import replace

import pytest
from django.db import connections
from django.utils import translation

from crm.mail import mailbox
from crm.mail.mailbox import MailboxError, encode_folder, exclusive_run, fetch
from tests.imap_server import free_port, message


class Pipeline:
    """Stands in for services.mail_receive / mail_record_failure: keeps what it got."""

    def __init__(self, *, fail_on: str | None = None, account=None) -> None:
        self.received: list[bytes] = []
        self.failures: list[tuple[bytes, str]] = []
        self.fail_on = fail_on
        self.account = account
        self.inbox_during_receive: list[list[str]] = []
        self.batches: list[int] = []

    def receive(self, raws: list[bytes]) -> list[object]:
        """Keep each message; its outcome is an exception when it holds ``fail_on``."""
        self.batches.append(len(raws))
        if self.account is not None:
            self.inbox_during_receive.append(self.account.subjects("INBOX"))
        outcomes = []
        for raw in raws:
            self.received.append(raw)
            failing = self.fail_on and self.fail_on.encode() in raw
            outcomes.append(ValueError("the pipeline broke on this one") if failing else None)
        return outcomes

    def record_failure(self, raw: bytes, error: str) -> None:
        self.failures.append((raw, error))

    def run(self, account, **options) -> mailbox.FetchReport:
        options.setdefault("config", account.config())
        return fetch(receive=self.receive, record_failure=self.record_failure, **options)


def _subjects(raws: list[bytes]) -> list[str]:
    return [next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))[9:].decode()
            for raw in raws]  # fmt: skip


def test_messages_are_handed_over_oldest_first_then_moved_to_the_processed_folder(
    imap_account,
):
    imap_account.append(message("Visa 1"), message("Visa 2"), message("Visa 3"))
    pipeline = Pipeline(account=imap_account)

    report = pipeline.run(imap_account)

    assert _subjects(pipeline.received) == ["Visa 1", "Visa 2", "Visa 3"]
    # Handed over together, each still in the inbox while receive held it:
    # moved only after.
    assert pipeline.batches == [3]
    assert pipeline.inbox_during_receive == [["Visa 1", "Visa 2", "Visa 3"]]
    assert imap_account.subjects("INBOX") == []
    assert imap_account.subjects("Traités") == ["Visa 1", "Visa 2", "Visa 3"]
    assert (report.fetched, report.filed, report.failed, report.refused) == (3, 3, 0, 0)
    assert pipeline.failures == []


def test_a_backlog_is_handed_over_in_batches_of_at_most_twenty_messages(imap_account):
    imap_account.append(*(message(f"Visa {n}") for n in range(1, 46)))
    pipeline = Pipeline()

    report = pipeline.run(imap_account)

    assert pipeline.batches == [20, 20, 5]
    assert _subjects(pipeline.received) == [f"Visa {n}" for n in range(1, 46)]
    assert report.filed == 45
    assert imap_account.subjects("INBOX") == []


def test_a_batch_holds_at_most_one_message_s_worth_of_bytes(imap_account):
    big = "x" * 3000 + "\r\n"
    imap_account.append(*(message(f"Visa {n}", body=big) for n in range(1, 6)))
    size = len(message("Visa 1", body=big))
    pipeline = Pipeline()

    # Room for two messages of this size in a batch, not three.
    pipeline.run(imap_account, config=replace(imap_account.config(), max_bytes=size * 2 + 10))

    assert pipeline.batches == [2, 2, 1]
    assert imap_account.subjects("INBOX") == []


def test_when_receive_itself_raises_every_message_of_the_batch_stays_with_the_error(
    imap_account,
):
    imap_account.append(message("Visa 1"), message("Visa 2"))
    pipeline = Pipeline()

    def receive(raws):
        raise RuntimeError("the database is gone")

    report = fetch(
        receive=receive, record_failure=pipeline.record_failure, config=imap_account.config()
    )

    assert [error for _raw, error in pipeline.failures] == [
        "RuntimeError: the database is gone",
        "RuntimeError: the database is gone",
    ]
    assert imap_account.subjects("INBOX") == ["Visa 1", "Visa 2"]
    assert (report.fetched, report.filed, report.failed) == (2, 0, 2)


def test_messages_are_handed_over_whole_and_stay_unread(imap_account):
    original = message("Note conceptuelle", body="Première ligne\r\n— Jean\r\n")
    imap_account.append(original)
    pipeline = Pipeline()

    pipeline.run(imap_account)

    assert pipeline.received == [original]
    [(stored, flags)] = imap_account.messages("Traités")
    assert stored == original
    assert "\\Seen" not in flags


def test_the_processed_folder_is_created_with_its_accented_name(imap_account):
    imap_account.append(message("Visa"))

    Pipeline().run(imap_account)

    assert {"Trait&AOk-s", "Refus&AOk-s"} <= imap_account.folders()


def test_a_message_whose_filing_fails_stays_in_the_mailbox_with_its_error_recorded(
    imap_account,
):
    imap_account.append(message("Visa 1"), message("Visa 2 broken"), message("Visa 3"))
    pipeline = Pipeline(fail_on="broken")

    report = pipeline.run(imap_account)

    [(raw, error)] = pipeline.failures
    assert _subjects([raw]) == ["Visa 2 broken"]
    assert error == "ValueError: the pipeline broke on this one"
    assert imap_account.subjects("INBOX") == ["Visa 2 broken"]
    [(_raw, flags)] = imap_account.messages("INBOX")
    assert "\\Seen" not in flags
    assert imap_account.subjects("Traités") == ["Visa 1", "Visa 3"]
    assert (report.fetched, report.filed, report.failed) == (3, 2, 1)
    assert report.problems == []


def test_a_failed_message_is_tried_once_per_run_and_again_by_the_next(imap_account):
    imap_account.append(message("Visa broken"))
    pipeline = Pipeline(fail_on="broken")

    pipeline.run(imap_account)
    pipeline.fail_on = None
    pipeline.run(imap_account)

    assert _subjects(pipeline.received) == ["Visa broken", "Visa broken"]
    assert imap_account.subjects("INBOX") == []
    assert imap_account.subjects("Traités") == ["Visa broken"]


def test_a_failure_that_cannot_be_recorded_leaves_the_message_and_is_reported(imap_account):
    imap_account.append(message("Visa broken"))
    pipeline = Pipeline(fail_on="broken")

    def record_failure(raw, error):
        raise RuntimeError("database gone")

    report = fetch(
        receive=pipeline.receive, record_failure=record_failure, config=imap_account.config()
    )

    assert imap_account.subjects("INBOX") == ["Visa broken"]
    assert report.failed == 1
    assert report.problems == [
        "UID 1: the failure could not be recorded (RuntimeError: database gone); "
        "the message stays in the mailbox."
    ]


def test_an_oversize_message_is_not_downloaded_its_headers_recorded_and_moved_aside(
    imap_account,
):
    big = message("Rapport annuel", body="x" * 10_000 + "\r\nLA FIN DU CORPS\r\n")
    imap_account.append(message("Visa"), big)
    pipeline = Pipeline()

    # The reason is in the active language (the site's, French, under fetch_mail):
    # read here in English.
    with translation.override("en"):
        report = pipeline.run(imap_account, config=imap_account.config(max_bytes=5_000))

    assert _subjects(pipeline.received) == ["Visa"]
    [(headers, reason)] = pipeline.failures
    assert b"Subject: Rapport annuel" in headers
    assert b"LA FIN DU CORPS" not in headers
    assert len(headers) < 1_000
    with translation.override("en"):
        assert "more than the 5000 bytes accepted" in str(reason)
    assert "Refusés" in str(reason)
    assert imap_account.subjects("INBOX") == []
    assert imap_account.subjects("Refusés") == ["Rapport annuel"]
    [(_raw, flags)] = imap_account.messages("Refusés")
    assert "\\Seen" not in flags
    assert (report.fetched, report.filed, report.refused) == (1, 1, 1)


def test_an_oversize_message_whose_refusal_cannot_be_recorded_stays_in_the_inbox(
    imap_account,
):
    imap_account.append(message("Rapport annuel", body="x" * 10_000))

    def record_failure(raw, error):
        raise RuntimeError("database gone")

    report = fetch(
        receive=Pipeline().receive,
        record_failure=record_failure,
        config=imap_account.config(max_bytes=5_000),
    )

    assert imap_account.subjects("INBOX") == ["Rapport annuel"]
    assert imap_account.subjects("Refusés") == []
    assert len(report.problems) == 1


def test_a_run_hands_over_at_most_its_limit_and_leaves_the_rest(imap_account):
    imap_account.append(*(message(f"Visa {n}") for n in range(1, 6)))
    pipeline = Pipeline()

    report = pipeline.run(imap_account, limit=2)

    assert _subjects(pipeline.received) == ["Visa 1", "Visa 2"]
    assert report.remaining == 3
    assert imap_account.subjects("INBOX") == ["Visa 3", "Visa 4", "Visa 5"]


def test_without_move_the_copied_message_alone_is_expunged(imap_account, monkeypatch):
    # A message a person flagged \Deleted is theirs to expunge, not the run's.
    imap_account.append(message("Flagged by a colleague"), flags="(\\Deleted)")
    imap_account.append(message("Visa"))
    capabilities = mailbox.server_capabilities
    monkeypatch.setattr(
        mailbox,
        "server_capabilities",
        lambda imap: capabilities(imap) - {"MOVE"},
    )
    pipeline = Pipeline()

    pipeline.run(imap_account)

    assert _subjects(pipeline.received) == ["Visa"]
    assert imap_account.subjects("INBOX") == ["Flagged by a colleague"]
    assert imap_account.subjects("Traités") == ["Visa"]


def test_a_dry_run_lists_the_messages_and_leaves_them_unread_where_they_are(imap_account):
    imap_account.append(
        message("=?utf-8?q?R=C3=A9union_Visa?="),
        message("=?utf-8?q?Injected=0D=0ABcc:_everyone@example.org?="),
    )
    pipeline = Pipeline()

    report = pipeline.run(imap_account, dry_run=True)

    assert pipeline.received == []
    assert [(item.uid, item.subject) for item in report.listed] == [
        (1, "Réunion Visa"),
        (2, "Injected Bcc: everyone@example.org"),
    ]
    assert report.listed[0].sender == "Jean Test <jean.test@mastercard.com>"
    assert imap_account.subjects("INBOX") == [
        "=?utf-8?q?R=C3=A9union_Visa?=",
        "=?utf-8?q?Injected=0D=0ABcc:_everyone@example.org?=",
    ]
    assert all("\\Seen" not in flags for _raw, flags in imap_account.messages("INBOX"))
    assert "Trait&AOk-s" not in imap_account.folders()


def test_starttls_is_spoken_when_asked(imap_account):
    imap_account.append(message("Visa"))
    pipeline = Pipeline()

    pipeline.run(
        imap_account,
        config=imap_account.config(security="starttls", port=imap_account.server.starttls_port),
    )

    assert _subjects(pipeline.received) == ["Visa"]


def test_a_server_whose_certificate_is_not_trusted_is_refused(imap_account):
    imap_account.append(message("Visa"))
    pipeline = Pipeline()
    config = imap_account.config(cafile=str(imap_account.server.wrong_ca))

    with pytest.raises(MailboxError, match=r"is not trusted .*set CRM_MAIL_IMAP_CAFILE"):
        pipeline.run(imap_account, config=config)

    assert pipeline.received == []
    assert imap_account.subjects("INBOX") == ["Visa"]


def test_an_unreachable_server_is_a_clear_error():
    config = mailbox.MailboxConfig(
        host="127.0.0.1", port=free_port(), user="u", password="p", timeout=5
    )

    with pytest.raises(MailboxError, match=r"Cannot reach the mail server 127\.0\.0\.1:\d+"):
        fetch(receive=Pipeline().receive, record_failure=Pipeline().record_failure, config=config)


def test_a_wrong_password_is_a_clear_error(imap_account):
    config = imap_account.config(password="not-the-password")

    with pytest.raises(MailboxError, match="refused the login of 'crm"):
        Pipeline().run(imap_account, config=config)


def test_folder_names_are_written_in_imaps_modified_utf7():
    assert encode_folder("INBOX") == "INBOX"
    assert encode_folder("Traités") == "Trait&AOk-s"
    assert encode_folder("R&D") == "R&-D"
    assert encode_folder("Courriels/été 2025") == "Courriels/&AOk-t&AOk- 2025"


def _concurrent_runs(account, pipeline: Pipeline) -> list[bool]:
    """Start two locked runs, the second while the first holds its first message."""
    holding = threading.Event()
    taken: list[bool] = []

    def receive(raws: list[bytes]) -> list[object]:
        outcomes = pipeline.receive(raws)
        holding.set()
        time.sleep(0.3)  # long enough for the second run to try
        return outcomes

    def run() -> None:
        try:
            with exclusive_run() as got:
                taken.append(got)
                if got:
                    fetch(
                        receive=receive,
                        record_failure=pipeline.record_failure,
                        config=account.config(),
                    )
        finally:
            connections.close_all()

    first = threading.Thread(target=run)
    second = threading.Thread(target=run)
    first.start()
    assert holding.wait(timeout=20)
    second.start()
    for thread in (first, second):
        thread.join(timeout=60)
    return taken


def test_two_runs_at_once_hand_each_message_over_once(imap_account, db):
    # PostgreSQL: the advisory lock; SQLite: the file lock. CI runs both.
    imap_account.append(message("Visa 1"), message("Visa 2"), message("Visa 3"))
    pipeline = Pipeline()

    taken = _concurrent_runs(imap_account, pipeline)

    assert _subjects(pipeline.received) == ["Visa 1", "Visa 2", "Visa 3"]
    assert sorted(taken) == [False, True]
    assert imap_account.subjects("Traités") == ["Visa 1", "Visa 2", "Visa 3"]


@pytest.mark.postgres
def test_on_postgresql_the_lock_is_an_advisory_lock_every_server_sees(postgres_only):
    other = connections["default"].copy()
    try:
        with exclusive_run() as taken, other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %s",
                [mailbox.LOCK_KEY],
            )
            held = cursor.fetchone()[0]
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [mailbox.LOCK_KEY])
            another_server_gets_it = cursor.fetchone()[0]
    finally:
        other.close()

    assert taken
    assert held == 1
    assert another_server_gets_it is False


def test_the_lock_is_free_again_once_a_run_ends(db):
    with exclusive_run() as first:
        assert first
    with exclusive_run() as again:
        assert again
