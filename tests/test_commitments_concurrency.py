"""Two people moving the same commitment or document at once (PostgreSQL only)."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection

from crm import services
from crm.models import CommitmentStatusChange, Document
from tests import factories
from tests.test_documents import PDF

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        except Exception as error:  # collected and asserted by the caller
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes, key=str)


def test_withdrawn_and_confirmed_at_once_records_one_move_and_refuses_the_other(postgres_only):
    commitment = factories.CommitmentFactory(source=factories.SourceFactory())
    user = factories.UserFactory()

    outcomes = _race(
        lambda: services.commitment_change_status(
            commitment=commitment, to_status="confirmed", by=user
        ),
        lambda: services.commitment_change_status(
            commitment=commitment, to_status="lapsed", by=user
        ),
    )

    moves = list(
        CommitmentStatusChange.objects.exclude(from_status="").values_list(
            "from_status", "to_status"
        )
    )
    commitment.refresh_from_db()
    if outcomes == ["ok", "ok"]:
        # Confirmed first, then lapsed from confirmed: one after the other.
        assert moves == [("confirmed", "lapsed"), ("announced", "confirmed")]
    else:
        assert outcomes == ["ok", "refused"]
        assert len(moves) == 1 and moves[0][0] == "announced"
    assert commitment.status == moves[0][1]


def test_two_deliveries_at_once_add_up(postgres_only):
    commitment = factories.CommitmentFactory(amount="100", source=factories.SourceFactory())
    services.commitment_change_status(commitment=commitment, to_status="confirmed", by=None)

    outcomes = _race(
        lambda: services.commitment_deliver(commitment=commitment, amount=Decimal("30"), by=None),
        lambda: services.commitment_deliver(commitment=commitment, amount=Decimal("40"), by=None),
    )

    assert outcomes == ["ok", "ok"]
    commitment.refresh_from_db()
    assert commitment.amount_delivered == Decimal("70")


def test_two_new_versions_of_one_document_at_once_keep_one(postgres_only):
    first = services.document_create(
        by=None,
        file=ContentFile(PDF, name="a.pdf"),
        title="A",
        organization=factories.OrganizationFactory(),
    )

    outcomes = _race(
        *[
            lambda: services.document_create(
                by=None,
                file=ContentFile(PDF, name="b.pdf"),
                title="B",
                previous_version=first,
            )
        ]
        * 2
    )

    assert outcomes == ["ok", "refused"]
    assert Document.objects.filter(previous_version=first).count() == 1
