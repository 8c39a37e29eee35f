"""manage.py fetch_mail with the real mail pipeline (crm/services/mail.py).

The whole module waits for the pipeline: skipped at collection until it is there.
"""

import contextlib
import os
import sqlite3
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings

pytest.importorskip("crm.services.mail", reason="the mail pipeline is not on this branch yet")

from crm import services
from tests.imap_server import message
from tests.test_fetch_mail import _run

pytestmark = pytest.mark.imap


def test_pipeline_the_same_message_twice_in_the_mailbox_is_filed_once(mailbox_on, db):
    from crm.models import MailMessage

    same = message("Note conceptuelle", message_id="<note-1@mastercard.com>")
    mailbox_on.append(same, same)

    _run()

    assert MailMessage.objects.count() == 1
    assert mailbox_on.subjects("INBOX") == []
    assert mailbox_on.subjects("Traités") == ["Note conceptuelle", "Note conceptuelle"]


def test_pipeline_a_message_whose_filing_crashed_is_in_the_mail_to_file(
    mailbox_on, monkeypatch, db
):
    from crm.models import MailMessage

    recorded = []
    real_record_failure = services.mail_record_failure

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    def record_failure(**kwargs):
        recorded.append(real_record_failure(**kwargs))
        return recorded[-1]

    monkeypatch.setattr(services, "mail_receive_many", boom)
    monkeypatch.setattr(services, "mail_record_failure", record_failure)
    mailbox_on.append(message("Visa"))

    _run()

    [entry] = recorded
    assert MailMessage.objects.filter(pk=entry.pk).exists()
    assert mailbox_on.subjects("INBOX") == ["Visa"]


def test_pipeline_an_oversize_message_is_in_the_mail_to_file(mailbox_on, settings, db):
    from crm.models import MailMessage

    settings.CRM_MAIL_MAX_BYTES = 5_000
    mailbox_on.append(message("Rapport annuel", body="x" * 10_000))

    _run()

    assert MailMessage.objects.count() == 1
    assert mailbox_on.subjects("Refusés") == ["Rapport annuel"]


# -- end to end: the real pipeline, the real mailbox -----------------------------------


def _groups():
    from django.contrib.auth.models import Group

    from crm import roles

    for name in (roles.COORDINATION, roles.STAFF, roles.READ_ONLY):
        Group.objects.get_or_create(name=name)


@contextlib.contextmanager
def _database_for_other_processes(tmp_path):
    """Yield the DATABASE_URL other processes reach this test's database by.

    PostgreSQL: the test database itself (a transactional test commits). SQLite:
    the test database is in this process's memory; it is copied to a file for
    them, and what they wrote copied back when they are done.
    """
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "postgresql":
        yield (
            f"postgres://{quote(database['USER'] or '')}:{quote(database['PASSWORD'] or '')}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
        )
        return
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    with contextlib.closing(sqlite3.connect(path)) as shared:
        connection.connection.backup(shared)
    yield f"sqlite:///{path}"
    with contextlib.closing(sqlite3.connect(path)) as shared:
        shared.backup(connection.connection)


@pytest.mark.django_db(transaction=True)
def test_pipeline_two_runs_at_once_file_each_message_once(mailbox_on, private_documents, tmp_path):
    """Two hosts' cron firing at the same minute: two processes, one database, one mailbox."""
    from crm.models import Interaction, MailMessage
    from tests.mail_helpers import mail_world

    _groups()
    mail_world()  # Jean Test of Mastercard is on file: each message is filed
    subjects = [f"Note {n}" for n in range(6)]
    mailbox_on.append(*(message(subject) for subject in subjects))

    with _database_for_other_processes(tmp_path) as database_url:
        environment = {
            **os.environ,
            "DJANGO_SECRET_KEY": "tests-only-not-a-secret",
            "DATABASE_URL": database_url,
            "CRM_DOCUMENTS_ROOT": str(private_documents),
            **{name: str(value) for name, value in mailbox_on.settings().items()},
        }
        runs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "fetch_mail"],
                cwd=django_settings.BASE_DIR,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(MailMessage.objects.values_list("subject", flat=True)) == subjects
    assert set(MailMessage.objects.values_list("status", flat=True)) == {"filed"}
    assert Interaction.objects.count() == len(subjects)
    assert mailbox_on.subjects("INBOX") == []
    assert sorted(mailbox_on.subjects("Traités")) == subjects


def test_pipeline_a_message_whose_filing_fails_stays_and_waits_with_the_error(
    mailbox_on, monkeypatch, client, db
):
    from crm.models import MailMessage
    from crm.services import mail as mail_services
    from tests.factories import UserFactory
    from tests.mail_helpers import mail_world

    mail_world()
    filing = mail_services._meeting

    def fail_for_visa(incoming, *args, **kwargs):
        if "Visa" in incoming.message.subject:
            raise RuntimeError("the document store is down")
        return filing(incoming, *args, **kwargs)

    monkeypatch.setattr(mail_services, "_meeting", fail_for_visa)
    mailbox_on.append(message("Visa pilot"), message("Note conceptuelle"))

    _run()

    assert mailbox_on.subjects("INBOX") == ["Visa pilot"]
    assert mailbox_on.subjects("Traités") == ["Note conceptuelle"]
    [waiting] = MailMessage.objects.waiting()
    assert waiting.status == MailMessage.Status.FAILED
    assert "RuntimeError: the document store is down" in waiting.error
    assert MailMessage.objects.get(subject="Note conceptuelle").status == "filed"
    client.force_login(UserFactory(is_superuser=True))
    page = client.get("/mail/").content.decode()
    assert "Visa pilot" in page and "the document store is down" in page

    monkeypatch.setattr(mail_services, "_meeting", filing)
    _run()  # the next run files it and replaces the failure

    assert mailbox_on.subjects("INBOX") == []
    assert not MailMessage.objects.waiting().exists()
    assert MailMessage.objects.get(subject="Visa pilot").status == "filed"
