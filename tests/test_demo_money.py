"""Truth in totals: demonstration commitments are never added to real money, and
a delivered commitment counts what was delivered.

Issue 19: `make run` loads the demonstration data, and the totals of Visa's page
and of the digital payments project included 463,989,250 XOF of demonstration
amounts with nothing to say so.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from crm.models import Commitment
from crm.money import commitment_totals
from tests import factories

pytestmark = pytest.mark.django_db


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _announced(totals):
    row = next(row for row in totals.rows if row.status == "announced")
    return row.xof, row.count


@pytest.fixture
def payments():
    """A project with one real commitment of 1,000 XOF and one demonstration one of 5,000."""
    project = factories.ProjectFactory(code="payments", name="Digital payments")
    visa = factories.OrganizationFactory(name="Visa", slug="visa")
    partnership = factories.PartnershipFactory(project=project, organization=visa)
    factories.CommitmentFactory(partnership=partnership, amount="1000", currency="XOF")
    factories.CommitmentFactory(
        partnership=partnership,
        amount="5000",
        currency="XOF",
        is_demo=True,
        description="[Démo] Pilot financing",
    )
    return project


def test_demonstration_commitments_are_summed_apart_never_with_real_ones(payments):
    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))

    assert _announced(totals) == (Decimal("1000"), 1)
    assert _announced(totals.demo) == (Decimal("5000"), 1)


def test_without_demonstration_commitments_there_is_no_demo_total():
    factories.CommitmentFactory(amount="1000", currency="XOF")

    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))

    assert totals.demo is None


def test_a_delivered_commitment_counts_what_was_delivered_not_what_was_promised():
    # 8,000,000 of 20,000,000 delivered, then closed: "delivered" is 8,000,000.
    factories.CommitmentFactory(
        amount="20000000", amount_delivered="8000000", currency="XOF", status="delivered"
    )
    factories.CommitmentFactory(amount="300", currency="XOF", status="confirmed")

    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))

    by_status = {row.status: (row.xof, row.count) for row in totals.rows}
    assert by_status["delivered"] == (Decimal("8000000"), 1)
    assert by_status["confirmed"] == (Decimal("300"), 1)


@pytest.mark.parametrize("page", ["/projects/payments/", "/organizations/visa/"])
def test_pages_show_real_totals_and_demonstration_totals_apart_and_labelled(
    client, coordinator, payments, page, pages_today
):
    client.force_login(coordinator)

    html = in_english(client).get(page).content.decode()

    real, _, demo = html.partition("Demonstration data, not counted above")
    assert demo, "the demonstration totals have a table of their own, labelled"
    real_table = real[real.rindex('<table class="money-table">') :]
    assert "1,000" in real_table and "5,000" not in real_table
    assert "5,000" in demo[: demo.index("</table>")]


def test_a_page_with_only_demonstration_commitments_shows_them_labelled(
    client, coordinator, pages_today
):
    project = factories.ProjectFactory(code="hub", name="Innovation hub")
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(project=project),
        amount="7000",
        currency="XOF",
        is_demo=True,
    )
    client.force_login(coordinator)

    html = in_english(client).get("/projects/hub/").content.decode()

    assert "Demonstration data, not counted above" in html
    assert "7,000" in html


def test_the_api_totals_leave_demonstration_commitments_out_and_give_them_apart(
    coordinator_api, payments
):
    response = coordinator_api.get(f"/api/v1/commitments/totals/?project={payments.pk}")

    body = response.json()
    assert response.status_code == 200
    assert body["rows"][0]["xof"] == "1000" and body["rows"][0]["count"] == 1
    assert body["demo_rows"][0]["xof"] == "5000" and body["demo_rows"][0]["count"] == 1


def test_the_mission_report_lists_demonstration_commitments_apart(client, coordinator):
    mission = factories.MissionFactory(start_on=date(2023, 9, 20))
    visa = factories.OrganizationFactory(name="Visa")
    mastercard = factories.OrganizationFactory(name="Mastercard")
    factories.InteractionFactory(mission=mission, organizations=[visa, mastercard])
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(organization=visa), amount="1000"
    )
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(organization=mastercard),
        amount="150000",
        currency="USD",
        is_demo=True,
    )
    client.force_login(coordinator)

    html = in_english(client).get(mission.get_absolute_url()).content.decode()

    report = html[html.index("Committed since the mission") :]
    real, _, demo = report.partition("Demonstration data, not real commitments")
    assert "Visa" in real and "Mastercard" not in real
    assert "Mastercard" in demo and "150,000.00 USD" in demo


def test_an_illustrative_rate_converts_demonstration_amounts_and_never_real_ones():
    factories.ExchangeRateFactory(currency="USD", rate_on=date(2026, 1, 1), xof_per_unit="600")
    factories.ExchangeRateFactory(
        currency="USD", rate_on=date(2026, 1, 10), xof_per_unit="500", is_demo=True
    )
    factories.CommitmentFactory(amount="10", currency="USD")
    factories.CommitmentFactory(amount="10", currency="USD", is_demo=True)

    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))

    assert _announced(totals) == (Decimal("6000"), 1)
    assert _announced(totals.demo) == (Decimal("5000"), 1)


def test_real_amounts_stay_unconverted_when_only_an_illustrative_rate_exists():
    factories.ExchangeRateFactory(
        currency="USD", rate_on=date(2026, 1, 10), xof_per_unit="500", is_demo=True
    )
    factories.CommitmentFactory(amount="10", currency="USD")

    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))

    row = next(row for row in totals.rows if row.status == "announced")
    assert row.xof == 0
    assert row.unconverted == {"USD": Decimal("10")}
