"""manage.py fetch_mail with the real mail pipeline (crm/services/mail.py).

The whole module waits for the pipeline: skipped at collection until it is there.
"""

import pytest

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

    def boom(**kwargs):
        raise RuntimeError("boom")

    def record_failure(**kwargs):
        recorded.append(real_record_failure(**kwargs))
        return recorded[-1]

    monkeypatch.setattr(services, "mail_receive", boom)
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
