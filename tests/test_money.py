"""Project totals of commitments in XOF and USD: parity, dated rates, rounding."""

from datetime import date
from decimal import Decimal

import pytest

from crm.models import Commitment
from crm.money import XOF_PER_EUR, commitment_totals, rates_on
from tests import factories

pytestmark = pytest.mark.django_db


def _rows(totals):
    return {row.status: (row.xof, row.usd, row.count) for row in totals.rows}


def test_mixed_currencies_total_in_xof_and_usd_at_parity_and_dated_rate():
    project = factories.ProjectFactory()
    partnership = factories.PartnershipFactory(project=project)
    other = factories.PartnershipFactory(project=project)
    factories.ExchangeRateFactory(currency="USD", rate_on=date(2026, 1, 1), xof_per_unit="600")
    # Announced: 1,000.50 EUR + 100.25 USD + 10,000 XOF.
    factories.CommitmentFactory(partnership=partnership, amount="1000.50", currency="EUR")
    factories.CommitmentFactory(partnership=other, amount="100.25", currency="USD")
    factories.CommitmentFactory(partnership=other, amount="10000", currency="XOF")
    # Another project's commitment is not counted.
    factories.CommitmentFactory(amount="999999", currency="XOF")

    totals = commitment_totals(
        Commitment.objects.filter(partnership__project=project), on=date(2026, 1, 15)
    )

    # 1000.50 × 655.957 = 656284.9785; 100.25 × 600 = 60150; + 10000 = 726434.9785
    # XOF rounded half up to the franc: 726435. USD: 726434.9785 / 600 = 1210.72496…
    # rounded half up to the cent: 1210.72.
    assert _rows(totals)["announced"] == (Decimal("726435"), Decimal("1210.72"), 3)
    assert _rows(totals)["confirmed"] == (Decimal("0"), Decimal("0.00"), 0)
    assert [(rate.currency, rate.xof_per_unit, rate.on) for rate in totals.rates] == [
        ("EUR", XOF_PER_EUR, None),
        ("USD", Decimal("600"), date(2026, 1, 1)),
    ]


def test_rounding_is_half_up_once_on_the_exact_sum():
    factories.ExchangeRateFactory(currency="USD", rate_on=date(2026, 1, 1), xof_per_unit="1")
    once = factories.ProjectFactory()
    # Three halves of a franc: rounded one by one they would make 3 XOF; summed
    # first they make 1.50, rounded once to 2.
    for currency in ("XOF", "USD", "USD"):
        factories.CommitmentFactory(
            partnership=factories.PartnershipFactory(project=once),
            amount="0.50",
            currency=currency,
        )
    half = factories.ProjectFactory()
    # 2.50 XOF: half up gives 3 (half even, Python's default, would give 2).
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(project=half), amount="2.50", currency="XOF"
    )

    def announced(project):
        commitments = Commitment.objects.filter(partnership__project=project)
        return _rows(commitment_totals(commitments, on=date(2026, 1, 15)))["announced"]

    assert announced(once) == (Decimal("2"), Decimal("1.50"), 3)
    assert announced(half) == (Decimal("3"), Decimal("2.50"), 1)


def test_the_rate_used_is_the_latest_on_or_before_the_day():
    factories.ExchangeRateFactory(rate_on=date(2025, 12, 1), xof_per_unit="610")
    factories.ExchangeRateFactory(rate_on=date(2026, 1, 10), xof_per_unit="605")
    factories.ExchangeRateFactory(rate_on=date(2026, 2, 1), xof_per_unit="590")

    assert rates_on(date(2026, 1, 15))["USD"].xof_per_unit == Decimal("605")
    assert rates_on(date(2026, 1, 15))["USD"].on == date(2026, 1, 10)
    assert rates_on(date(2025, 12, 31))["USD"].xof_per_unit == Decimal("610")
    assert "USD" not in rates_on(date(2025, 11, 1))


def test_without_a_usd_rate_usd_amounts_are_shown_unconverted():
    factories.CommitmentFactory(amount="100", currency="USD")
    factories.CommitmentFactory(amount="1", currency="EUR")

    totals = commitment_totals(Commitment.objects.all(), on=date(2026, 1, 15))
    announced = next(row for row in totals.rows if row.status == "announced")

    assert announced.xof == Decimal("656")  # 655.957 rounded; the USD is not in it.
    assert announced.usd is None
    assert announced.unconverted == {"USD": Decimal("100.00")}
    assert totals.usd_rate is None


def test_totals_take_two_queries_whatever_the_number_of_commitments(
    django_assert_num_queries,
):
    project = factories.ProjectFactory()
    for currency in ("XOF", "EUR", "USD") * 10:
        factories.CommitmentFactory(
            partnership=factories.PartnershipFactory(project=project), currency=currency
        )

    with django_assert_num_queries(2):
        commitment_totals(
            Commitment.objects.filter(partnership__project=project), on=date(2026, 1, 15)
        )


def test_a_dated_rate_for_a_pegged_currency_is_refused_by_the_database():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ExchangeRateFactory(currency="EUR")
