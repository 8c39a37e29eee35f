"""A demonstration memorandum of understanding, in draft, and its document.

The source states no agreement: the MoU is flagged ``is_demo`` and its text says
it is an example. Safe to run again: an MoU with the same slug, and a document
already attached to it, are left as they are.
"""

from collections.abc import Callable
from datetime import date, timedelta

from django.core.files.base import ContentFile

from crm import services
from crm.management.demo import NOTICE, PREFIX, PROJECT
from crm.management.demo.documents import demo_pdf
from crm.models import Agreement, Organization, Project

MOU_SLUG = "demo-protocole-accord-paiements-digitaux"


def load(*, by, today: date, write: Callable[[str], None]) -> None:
    """Create the draft MoU and its document once."""
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
            projects=[Project.objects.get(code=PROJECT)],
        )
        write("Demo MoU created (draft).")
    if not agreement.documents.exists():
        title = f"{PREFIX}Projet de protocole d'accord"
        services.document_create(
            by=by,
            file=ContentFile(demo_pdf(title), name="projet-protocole-accord-demo.pdf"),
            title=title,
            notes=NOTICE,
            agreement=agreement,
            organization=Organization.objects.get(slug="mastercard"),
            is_demo=True,
        )
        write("Demo document created.")
