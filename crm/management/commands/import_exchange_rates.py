"""Import dated exchange rates from a CSV file: currency,date,xof_per_unit[,note].

A rate already recorded for the same currency and date is updated; everything
is checked before anything is written, and the file is refused as a whole if
one line is wrong. Nothing is fetched from the internet.
"""

import csv
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from crm.models import ExchangeRate

MAX_ROWS = 10_000
DATED_CURRENCIES = [c for c in ExchangeRate.Currency.values if c not in ("XOF", "EUR")]


def parse_rows(lines) -> list[ExchangeRate]:
    """Return the rates of a CSV (header currency,date,xof_per_unit[,note]), or raise."""
    reader = csv.DictReader(lines)
    missing = {"currency", "date", "xof_per_unit"} - set(reader.fieldnames or [])
    if missing:
        raise CommandError(f"Missing columns: {', '.join(sorted(missing))}.")
    rates, errors = [], []
    for number, row in enumerate(reader, start=2):
        if number > MAX_ROWS + 1:
            raise CommandError(f"More than {MAX_ROWS} rows: split the file.")
        currency = (row["currency"] or "").strip().upper()
        try:
            rate_on = date.fromisoformat((row["date"] or "").strip())
            value = Decimal((row["xof_per_unit"] or "").strip())
        except (ValueError, InvalidOperation):
            errors.append(f"line {number}: give an ISO date and a decimal rate")
            continue
        if currency not in DATED_CURRENCIES:
            errors.append(f"line {number}: currency must be one of {', '.join(DATED_CURRENCIES)}")
            continue
        if not value.is_finite() or value <= 0 or value >= Decimal("1e12"):
            errors.append(f"line {number}: the rate must be positive")
            continue
        note = (row.get("note") or "").strip()[:300]
        rates.append(
            ExchangeRate(currency=currency, rate_on=rate_on, xof_per_unit=value, note=note)
        )
    if errors:
        raise CommandError("Nothing imported. " + "; ".join(errors[:20]))
    return rates


class Command(BaseCommand):
    help = (
        "Import dated exchange rates (XOF per unit) from a CSV: currency,date,xof_per_unit,note."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV file (UTF-8, comma-separated, with a header).")
        parser.add_argument("--by", metavar="USERNAME", help="Who entered the rates.")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        by = None
        if options["by"]:
            by = get_user_model().objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"No user named {options['by']!r}.")
        try:
            with open(options["path"], encoding="utf-8-sig", newline="") as handle:
                rates = parse_rows(handle)
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {options['path']}: {error}") from error
        for rate in rates:
            rate.created_by = by
        ExchangeRate.objects.bulk_create(
            rates,
            update_conflicts=True,
            unique_fields=["currency", "rate_on"],
            update_fields=["xof_per_unit", "note"],
        )
        self.stdout.write(f"{len(rates)} exchange rates imported.")
