"""Mail received by two workers at the same moment, on PostgreSQL with real connections.

A copy of a message (with its Message-ID) and a colleague's inline forward of
it (which loses the Message-ID) have two fingerprints but one content key. Two
workers receiving them at once each find nothing on file; the unique content
key lets one insert, and the other returns that record: one meeting.
"""

import threading

import pytest
from django.db import connection

from crm import services
from crm.models import Interaction, MailMessage
from crm.services import mail as mail_services
from tests.mail_helpers import corpus, mail_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COPY = (
    b"From: Mary Test <mary.test@visa.com>\r\nTo: Kofi Test <kofi.test@mcc-togo.example>\r\n"
    b"Subject: Call follow-up\r\nDate: Tue, 07 Oct 2025 16:15:40 +0000\r\n"
    b"Message-ID: <call-follow-up-original@visa.com>\r\n\r\nDear Kofi,\r\n"
)


@pytest.fixture
def world(postgres_only):

    from django.contrib.auth.models import Group

    from crm import roles

    for name in (roles.COORDINATION, roles.STAFF, roles.READ_ONLY):
        Group.objects.get_or_create(name=name)
    return mail_world()


def both_past_the_lookup(monkeypatch):
    """Hold each worker after it found nothing on file until the other has too."""
    barrier = threading.Barrier(2, timeout=10)
    fill = mail_services._fill

    def held_fill(*args, **kwargs):
        barrier.wait()
        return fill(*args, **kwargs)

    monkeypatch.setattr(mail_services, "_fill", held_fill)


def receive_at_once(*messages: tuple[bytes, str]) -> list:
    results: list = [None] * len(messages)

    def run(index: int, raw: bytes, door: str) -> None:
        try:
            results[index] = services.mail_receive(raw=raw, door=door)
        except Exception as error:  # reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, raw, door))
        for index, (raw, door) in enumerate(messages)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_copy_and_a_forward_received_at_the_same_moment_give_one_record(world, monkeypatch):
    both_past_the_lookup(monkeypatch)

    results = receive_at_once((COPY, "mailbox"), (corpus("gmail_en_forward.eml"), "upload"))

    assert [type(result).__name__ for result in results] == ["MailReceipt", "MailReceipt"]
    assert sorted(result.created for result in results) == [False, True]
    assert results[0].message.pk == results[1].message.pk
    assert MailMessage.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_the_same_message_received_twice_at_the_same_moment_gives_one_record(world, monkeypatch):
    both_past_the_lookup(monkeypatch)

    results = receive_at_once((COPY, "mailbox"), (COPY, "api"))

    assert sorted(result.created for result in results) == [False, True]
    assert MailMessage.objects.count() == 1
    assert Interaction.objects.count() == 1
