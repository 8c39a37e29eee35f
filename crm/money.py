"""Amounts in several currencies, and project totals converted to XOF and USD.

Plain ``Decimal`` amounts with an ISO 4217 code beside them (README, "Money"):
XOF↔EUR at the fixed parity, other currencies at the dated rate kept in
``ExchangeRate``. Sums are made by the database, grouped by status and
currency (at most statuses × currencies rows, twice: real and demonstration
commitments), and only those few sums are converted here.

Rounding, stated once: every conversion is exact (Decimal), sums are converted
before rounding, and only the final total is rounded, half up: XOF to the whole
franc (it has no minor unit in use), USD to the cent.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, Count, F, OuterRef, Subquery, Sum, When

from crm.models import Commitment, CommitmentStatus, Currency, ExchangeRate

# The CFA franc's fixed parity with the euro (since 1999): XOF per EUR.
XOF_PER_EUR = Decimal("655.957")

XOF_QUANTUM = Decimal("1")
USD_QUANTUM = Decimal("0.01")


def round_xof(amount: Decimal) -> Decimal:
    return amount.quantize(XOF_QUANTUM, rounding=ROUND_HALF_UP)


def round_usd(amount: Decimal) -> Decimal:
    return amount.quantize(USD_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rate:
    """XOF per unit of a currency, and where that figure comes from."""

    currency: str
    xof_per_unit: Decimal
    on: date | None  # None: the fixed parity, valid every day.
    fixed: bool = False


FIXED_RATES = {
    Currency.XOF: Rate(Currency.XOF, Decimal(1), None, fixed=True),
    Currency.EUR: Rate(Currency.EUR, XOF_PER_EUR, None, fixed=True),
}


def rate_tables(on: date) -> tuple[dict[str, Rate], dict[str, Rate]]:
    """Return the rates on ``on`` for real amounts, and for demonstration amounts.

    A currency's rate is the parity, else its latest dated rate on or before
    ``on``. Demonstration rates (``is_demo``) are illustrative: they may convert
    demonstration amounts, never real ones. A currency without a rate is
    missing. One query: the latest real and the latest demonstration rate of
    each currency.
    """
    latest = (
        ExchangeRate.objects.filter(
            currency=OuterRef("currency"), is_demo=OuterRef("is_demo"), rate_on__lte=on
        )
        .order_by("-rate_on")
        .values("rate_on")[:1]
    )
    dated = ExchangeRate.objects.filter(rate_on__lte=on, rate_on=Subquery(latest))
    real: dict[str, Rate] = {}
    demo: dict[str, Rate] = {}
    for row in dated.only("currency", "xof_per_unit", "rate_on", "is_demo"):
        (demo if row.is_demo else real)[row.currency] = Rate(
            row.currency, row.xof_per_unit, row.rate_on
        )
    for_demo = dict(real)
    for currency, rate in demo.items():
        if currency not in real or rate.on > real[currency].on:
            for_demo[currency] = rate
    return {**real, **FIXED_RATES}, {**for_demo, **FIXED_RATES}


def rates_on(on: date) -> dict[str, Rate]:
    """Return the rates that convert real amounts on ``on`` (see ``rate_tables``)."""
    return rate_tables(on)[0]


@dataclass
class StatusTotal:
    status: str
    label: str
    xof: Decimal | None
    usd: Decimal | None
    # Amounts that could not be converted (no rate yet), per currency.
    unconverted: dict[str, Decimal] = field(default_factory=dict)
    count: int = 0


@dataclass
class Totals:
    """A project's (or an organisation's) commitments by status, in XOF and USD."""

    on: date
    rows: list[StatusTotal]
    rates: list[Rate]  # The rates used, for display beside the totals.
    usd_rate: Rate | None
    # The demonstration commitments' totals, kept apart: never added to ``rows``.
    demo: "Totals | None" = None

    @property
    def has_amounts(self) -> bool:
        return any(row.count for row in self.rows)

    @property
    def largest_xof(self) -> Decimal:
        return max((row.xof or Decimal(0) for row in self.rows), default=Decimal(0))


def commitment_totals(commitments, *, on: date) -> Totals:
    """Return the totals of ``commitments`` by status, converted at the rates of ``on``.

    Two queries: the sums (grouped in SQL by demonstration flag, status and
    currency) and the rates. Commitments without an amount count but add
    nothing; a delivered commitment adds what was delivered, not what was
    promised. Demonstration commitments (``is_demo``) are summed apart, in
    ``demo``: no real figure ever includes them.
    """
    sums = (
        commitments.order_by()
        .values("is_demo", "status", "currency")
        .annotate(total=Sum(_counted()), n=Count("id"))
        .values_list("is_demo", "status", "currency", "total", "n")
    )
    real, demo = [], []
    for is_demo, *row in sums:
        (demo if is_demo else real).append(row)
    return _real_and_demo(real, demo, rate_tables(on), on=on)


def commitment_totals_by_project(commitments, *, on: date, projects=()) -> dict[int, Totals]:
    """Return ``commitment_totals`` for each project of ``commitments``, by project id.

    Two queries, whatever the number of projects: the sums grouped by project as
    well, and the rates. The ids in ``projects`` are in the result even without
    commitments (every status at zero, beside the same rates).
    """
    sums = (
        commitments.order_by()
        .values("partnership__project", "is_demo", "status", "currency")
        .annotate(total=Sum(_counted()), n=Count("id"))
        .values_list("partnership__project", "is_demo", "status", "currency", "total", "n")
    )
    real: dict[int, list] = {project: [] for project in projects}
    demo: dict[int, list] = {}
    for project, is_demo, *row in sums:
        real.setdefault(project, [])
        (demo if is_demo else real).setdefault(project, []).append(row)
    tables = rate_tables(on)
    return {
        project: _real_and_demo(rows, demo.get(project, []), tables, on=on)
        for project, rows in real.items()
    }


def _counted() -> Case:
    # A delivered commitment counts what was delivered, not what was promised.
    return Case(
        When(status=CommitmentStatus.DELIVERED, then=F("amount_delivered")),
        default=F("amount"),
    )


def _real_and_demo(real, demo, tables, *, on: date) -> Totals:
    rates, demo_rates = tables
    totals = _totals(real, rates, on=on)
    if demo:
        totals.demo = _totals(demo, demo_rates, on=on)
    return totals


def _totals(sums, rates: dict[str, Rate], *, on: date) -> Totals:
    """Convert ``(status, currency, total, count)`` sums into a status-by-status Totals."""
    by_status: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, int] = {}
    for status, currency, total, n in sums:
        by_status.setdefault(status, {})[currency] = total or Decimal(0)
        counts[status] = counts.get(status, 0) + n
    used: set[str] = set()
    usd_rate = rates.get(Currency.USD)
    rows = []
    for status in CommitmentStatus:
        amounts = by_status.get(status, {})
        exact = Decimal(0)
        unconverted = {}
        for currency, amount in amounts.items():
            if not amount:
                continue
            rate = rates.get(currency)
            if rate is None:
                unconverted[currency] = amount
                continue
            used.add(currency)
            exact += amount * rate.xof_per_unit
        if usd_rate is not None and exact:
            used.add(Currency.USD)
        rows.append(
            StatusTotal(
                status=status,
                label=status.label,
                xof=round_xof(exact),
                usd=round_usd(exact / usd_rate.xof_per_unit) if usd_rate else None,
                unconverted=unconverted,
                count=counts.get(status, 0),
            )
        )
    shown = [rates[c] for c in (Currency.EUR, Currency.USD) if c in used and c in rates]
    shown += [r for c, r in rates.items() if c in used and c not in FIXED_RATES and r not in shown]
    return Totals(on=on, rows=rows, rates=shown, usd_rate=usd_rate)


def project_commitments(project):
    """Return the commitments of a project's partnerships."""
    return Commitment.objects.filter(partnership__project=project)
