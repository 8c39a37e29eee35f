"""Demonstration commitments, a draft MoU and its document (called by ``load_demo``).

The source states no amount and no agreement, so none of this is a fact: every
record is flagged ``is_demo``, its text starts with ``[Démo]`` and says it is an
example, and the USD rate is marked as illustrative. Safe to run again: what
exists (same description, same slug) is left as it is.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from crm import services
from crm.models import (
    Agreement,
    Commitment,
    ExchangeRate,
    Organization,
    Partnership,
    Project,
)

PREFIX = "[Démo] "
NOTICE = "Exemple de démonstration — ne décrit aucun engagement réel."
PROJECT = "paiements-digitaux"
MOU_SLUG = "demo-protocole-accord-paiements-digitaux"
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


def _demo_pdf(title: str) -> bytes:
    """Return a one-page PDF that says it is a demonstration document."""
    text = f"{title} - document de demonstration, sans valeur".encode("latin-1", "replace")
    stream = b"BT /F1 12 Tf 50 780 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def load(*, by, today: date, write) -> None:
    """Create the demonstration commitments, rate, MoU and document once."""
    project = Project.objects.get(code=PROJECT)
    rate = ExchangeRate.objects.filter(currency="USD", note__startswith=PREFIX).first()
    created = rate is None
    if created:
        rate = ExchangeRate.objects.create(
            currency="USD",
            rate_on=today.replace(day=1),
            xof_per_unit=DEMO_USD_RATE,
            note=f"{PREFIX}taux indicatif de démonstration, à remplacer par le taux officiel",
            created_by=by,
        )
    write(f"Demo USD rate: {rate}{' created' if created else ' already there'}.")

    agreement = Agreement.objects.filter(slug=MOU_SLUG).first()
    if agreement is None:
        agreement = services.agreement_create(
            by=by,
            slug=MOU_SLUG,
            kind=Agreement.Kind.MOU,
            title=f"{PREFIX}Protocole d'accord sur les paiements digitaux",
            summary=f"{NOTICE} Projet de protocole d'accord, en cours de rédaction.",
            owner=by,
            is_demo=True,
            effective_on=today + timedelta(days=30),
            expires_on=today + timedelta(days=30 + 3 * 365),
            parties=Organization.objects.filter(
                slug__in=["mastercard", "coordination-compact-togo"]
            ),
            projects=[project],
        )
        write("Demo MoU created (draft).")
    if not agreement.documents.exists():
        title = f"{PREFIX}Projet de protocole d'accord"
        services.document_create(
            by=by,
            file=ContentFile(_demo_pdf(title), name="projet-protocole-accord-demo.pdf"),
            title=title,
            notes=NOTICE,
            agreement=agreement,
            organization=Organization.objects.get(slug="mastercard"),
            is_demo=True,
        )
        write("Demo document created.")

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
                file=ContentFile(_demo_pdf(description), name=f"lettre-engagement-{index}.pdf"),
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
