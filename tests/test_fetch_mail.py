"""manage.py fetch_mail: the shared-mailbox door as cron (or a job runner) runs it.

The door is bound to ``services.mail_receive_many`` and ``services.mail_record_failure``.
Stand-ins take their place here; tests/test_fetch_mail_pipeline.py runs the
door with the real ones.
"""

import os
import subprocess
import sys
from io import StringIO
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from crm import services
from crm.mail import mailbox
from tests.imap_server import free_port, message

pytestmark = pytest.mark.imap


def _run(*args, **options) -> str:
    out = StringIO()
    call_command("fetch_mail", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def stand_in_pipeline(monkeypatch):
    """Stand-ins for the mail services, recording how they were called."""
    calls = SimpleNamespace(received=[], failures=[], fail=False)

    def mail_receive_many(raws, *, door, by=None):
        outcomes = []
        for raw in raws:
            calls.received.append((raw, door, by))
            if calls.fail:
                outcomes.append(RuntimeError("boom"))
            else:
                outcomes.append(SimpleNamespace(created=len(calls.received) == 1))
        return outcomes

    def mail_record_failure(*, raw, door, error):
        calls.failures.append((raw, door, error))

    monkeypatch.setattr(services, "mail_receive_many", mail_receive_many, raising=False)
    monkeypatch.setattr(services, "mail_record_failure", mail_record_failure, raising=False)
    return calls


def test_with_no_host_the_door_is_off_and_says_so(settings, db):
    settings.CRM_MAIL_IMAP_HOST = ""

    output = _run()

    assert output == (
        "The shared mailbox is off (CRM_MAIL_IMAP_HOST is not set): nothing to fetch.\n"
    )


def test_each_message_goes_to_mail_receive_by_the_mailbox_door(mailbox_on, stand_in_pipeline, db):
    mailbox_on.append(message("Visa 1"), message("Visa 2"))

    output = _run()

    assert [(door, by) for _raw, door, by in stand_in_pipeline.received] == [
        ("mailbox", None),
        ("mailbox", None),
    ]
    assert mailbox_on.subjects("Traités") == ["Visa 1", "Visa 2"]
    assert output == (
        f"127.0.0.1:{mailbox_on.server.tls_port} INBOX: fetched 2, filed 2 "
        "(1 already on file), failed 0, skipped for size 0.\n"
    )


def test_a_crash_goes_to_mail_record_failure_and_the_message_stays(
    mailbox_on, stand_in_pipeline, db
):
    mailbox_on.append(message("Visa"))
    stand_in_pipeline.fail = True

    output = _run()

    [(raw, door, error)] = stand_in_pipeline.failures
    assert (door, error) == ("mailbox", "RuntimeError: boom")
    assert b"Subject: Visa" in raw
    assert mailbox_on.subjects("INBOX") == ["Visa"]
    assert "failed 1" in output


def test_an_oversize_message_is_recorded_with_its_reason_for_the_mail_to_file(
    mailbox_on, stand_in_pipeline, settings, db
):
    settings.CRM_MAIL_MAX_BYTES = 5_000
    mailbox_on.append(message("Rapport annuel", body="x" * 10_000))

    output = _run()

    [(headers, door, error)] = stand_in_pipeline.failures
    assert stand_in_pipeline.received == []
    assert b"x" * 100 not in headers
    assert door == "mailbox"
    assert "Refusés" in str(error)
    assert mailbox_on.subjects("Refusés") == ["Rapport annuel"]
    assert "skipped for size 1" in output


def test_a_dry_run_lists_what_it_would_fetch_and_touches_nothing(mailbox_on, settings, db):
    settings.CRM_MAIL_MAX_BYTES = 5_000
    mailbox_on.append(message("Visa"), message("Rapport annuel", body="x" * 10_000))

    output = _run("--dry-run")

    lines = output.splitlines()
    assert lines[0].startswith("UID 1: ")
    assert lines[0].endswith(
        "from Jean Test <jean.test@mastercard.com>, Tue, 14 Oct 2025 10:12:00 +0000: Visa"
    )
    assert lines[1].endswith(": Rapport annuel — over the size limit: would be refused")
    assert lines[2] == (
        f"127.0.0.1:{mailbox_on.server.tls_port} INBOX: would fetch 2 — dry run, "
        "nothing filed or moved."
    )
    assert mailbox_on.subjects("INBOX") == ["Visa", "Rapport annuel"]


def test_a_run_inside_the_callers_transaction_leaves_it_open(mailbox_on, stand_in_pipeline, db):
    # A job runner (or a test) may call the command inside its own transaction:
    # replacing dropped connections between messages must not close that one.
    from django.db import transaction

    from crm.models import Organization
    from tests.factories import OrganizationFactory

    mailbox_on.append(message("Visa 1"), message("Visa 2"))
    with transaction.atomic():
        OrganizationFactory(name="Visa")

        _run()

        assert Organization.objects.filter(name="Visa").exists()
    assert len(stand_in_pipeline.received) == 2


def test_a_second_run_while_one_holds_the_lock_does_nothing(mailbox_on, stand_in_pipeline, db):
    mailbox_on.append(message("Visa"))

    with mailbox.exclusive_run() as taken:
        assert taken
        output = _run()

    assert output == "Another fetch_mail run holds the lock: nothing done.\n"
    assert stand_in_pipeline.received == []
    assert mailbox_on.subjects("INBOX") == ["Visa"]


def test_a_certificate_not_trusted_stops_the_run_with_a_clear_error(
    mailbox_on, stand_in_pipeline, settings, db
):
    settings.CRM_MAIL_IMAP_CAFILE = str(mailbox_on.server.wrong_ca)
    mailbox_on.append(message("Visa"))

    with pytest.raises(CommandError, match="is not trusted"):
        _run()

    assert stand_in_pipeline.received == []


def test_an_unreachable_server_stops_the_run_with_a_clear_error(settings, stand_in_pipeline, db):
    settings.CRM_MAIL_IMAP_HOST = "127.0.0.1"
    settings.CRM_MAIL_IMAP_PORT = free_port()
    settings.CRM_MAIL_IMAP_USER = "crm"
    settings.CRM_MAIL_IMAP_PASSWORD = "secret"

    with pytest.raises(CommandError, match=r"Cannot reach the mail server 127\.0\.0\.1"):
        _run()


def test_a_host_without_credentials_is_a_clear_error(settings, stand_in_pipeline, db):
    settings.CRM_MAIL_IMAP_HOST = "imap.example.org"
    settings.CRM_MAIL_IMAP_USER = ""

    with pytest.raises(CommandError, match="Set CRM_MAIL_IMAP_USER and CRM_MAIL_IMAP_PASSWORD"):
        _run()


def test_a_limit_below_one_is_refused(mailbox_on, db):
    with pytest.raises(CommandError, match="--limit must be 1 or more"):
        _run("--limit", "0")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("unreachable", "CommandError: Cannot reach the mail server 127.0.0.1:"),
        ("wrong_ca", "CommandError: The certificate of the mail server 127.0.0.1:"),
    ],
)
def test_from_the_shell_an_error_exits_non_zero_with_a_message_and_no_traceback(
    imap_account, tmp_path, where, expected
):
    environment = {
        **os.environ,
        "DJANGO_SECRET_KEY": "tests-only-not-a-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **{name: str(value) for name, value in imap_account.settings().items()},
    }
    if where == "unreachable":
        environment["CRM_MAIL_IMAP_PORT"] = str(free_port())
    else:
        environment["CRM_MAIL_IMAP_CAFILE"] = str(imap_account.server.wrong_ca)

    # A dry run: the shell test needs no pipeline to reach the server.
    result = subprocess.run(
        [sys.executable, "manage.py", "fetch_mail", "--dry-run"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_mail_pipeline_the_command_says_so(mailbox_on, monkeypatch, db):
    monkeypatch.delattr(services, "mail_receive_many", raising=False)
    mailbox_on.append(message("Visa"))

    with pytest.raises(CommandError, match=r"The mail pipeline \(crm.services.mail\)"):
        _run()

    assert mailbox_on.subjects("INBOX") == ["Visa"]
