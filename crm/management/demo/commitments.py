"""Demonstration commitments in every status, and the illustrative USD rate they use.

The source states no amount, so none of this is a fact: every commitment is
flagged ``is_demo`` and its text starts with ``[Démo]`` and says it is an
example, and the USD rate is marked as illustrative. Safe to run again: what
exists (same description, a rate with the same mark) is left as it is.
"""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from crm import services
from crm.management.demo import NOTICE, PREFIX, PROJECT
from crm.management.demo.documents import demo_pdf
from crm.models import Commitment, ExchangeRate, Partnership, Project

# An illustrative rate, not a published one: Coordination replaces it in the admin.
DEMO_USD_RATE = Decimal("600.000000")

# (organisation, kind, amount, currency, status after, delivered, days until expected)
DEMO_COMMITMENTS = [
    ("mastercard", "technical_assistance", Decimal("150000"), "USD", "confirmed", None, 90),
    ("visa", "financing", Decimal("250000"), "EUR", "announced", None, 180),
    ("mastercard", "in_kind", Decimal("20000000"), "XOF", "delivered", Decimal("8000000"), 30),
    ("visa", "investment_intent", Decimal("500000"), "USD", "announced", None, 365),
    ("visa", "other", Decimal("50000"), "USD", "withdrawn", None, 60),
]


def load_rate(*, by, today: date, write: Callable[[str], None]) -> None:
    """Create the illustrative USD rate once, dated the first of this month."""
    rate = ExchangeRate.objects.filter(currency="USD", note__startswith=PREFIX).first()
    created = rate is None
    if created:
        rate = ExchangeRate.objects.create(
            currency="USD",
            rate_on=today.replace(day=1),
            xof_per_unit=DEMO_USD_RATE,
            is_demo=True,
            note=f"{PREFIX}taux indicatif de démonstration, à remplacer par le taux officiel",
            created_by=by,
        )
    write(f"Demo USD rate: {rate}{' created' if created else ' already there'}.")


def load(*, by, today: date, write: Callable[[str], None]) -> None:
    """Create the demonstration commitments once, each moved to its status by the services."""
    project = Project.objects.get(code=PROJECT)
    existing = set(Commitment.objects.filter(is_demo=True).values_list("description", flat=True))
    partnerships = {
        p.organization.slug: p
        for p in Partnership.objects.filter(project=project).select_related("organization")
    }
    made = 0
    for index, (slug, kind, amount, currency, status, delivered, days) in enumerate(
        DEMO_COMMITMENTS, start=1
    ):
        description = f"{PREFIX}Engagement d'exemple n° {index}. {NOTICE}"
        if description in existing or slug not in partnerships:
            continue
        commitment = services.commitment_create(
            by=by,
            partnership=partnerships[slug],
            kind=kind,
            description=description,
            amount=amount,
            currency=currency,
            expected_on=today + timedelta(days=days),
            is_demo=True,
        )
        note = f"{PREFIX}mouvement de démonstration"
        if status in ("confirmed", "delivered"):
            services.document_create(
                by=by,
                file=ContentFile(demo_pdf(description), name=f"lettre-engagement-{index}.pdf"),
                title=f"{PREFIX}Lettre d'engagement n° {index}",
                notes=NOTICE,
                commitment=commitment,
                is_demo=True,
            )
            services.commitment_change_status(
                commitment=commitment, to_status="confirmed", by=by, note=note
            )
        if status == "delivered":
            services.commitment_deliver(
                commitment=commitment, amount=delivered, by=by, note=note, final=True
            )
        if status == "withdrawn":
            services.commitment_change_status(
                commitment=commitment, to_status="withdrawn", by=by, note=note
            )
        made += 1
    write(f"Demo commitments: {made} created, {len(DEMO_COMMITMENTS) - made} already there.")
