"""The vocabularies of the domain: every choice a field may take.

They live at module level, not nested in their models, because a model's Meta
cannot see classes nested in the model's body and the CheckConstraints in Meta
need them. Each model exposes its own as attributes (``FollowUp.Status``), which
is how the rest of the code refers to them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DatePrecision(models.TextChoices):
    """How much of a stored date the source actually gives.

    The date stored is the first day of the period the source names: "fin
    septembre 2023" is stored as 2023-09-01 with precision LATE_MONTH.
    """

    DAY = "day", _("Day")
    EARLY_MONTH = "early_month", _("Early in the month")
    MID_MONTH = "mid_month", _("Mid-month")
    LATE_MONTH = "late_month", _("Late in the month")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


class LegalBasis(models.TextChoices):
    """Why the unit may hold a person's data (Togo, law n° 2019-014 of 29 October 2019)."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    PUBLIC_INTEREST = "public_interest", _("Public-interest mission")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")


class PrivacyRequestKind(models.TextChoices):
    ACCESS = "access", _("Access to one's data")
    ERASURE = "erasure", _("Erasure")


class SourceKind(models.TextChoices):
    PRESS_RELEASE = "press_release", _("Press release")
    ARTICLE = "article", _("Article")
    REPORT = "report", _("Report")
    MEETING_NOTES = "meeting_notes", _("Meeting notes")
    OTHER = "other", _("Other")


class OrganizationKind(models.TextChoices):
    COMPANY = "company", _("Company")
    PAYMENT_NETWORK = "payment_network", _("Payment network")
    UNIVERSITY = "university", _("University")
    INVESTOR = "investor", _("Investor")
    INCUBATOR = "incubator", _("Incubator")
    PORT_AUTHORITY = "port_authority", _("Port authority")
    BUSINESS_ASSOCIATION = "business_association", _("Business association")
    GOVERNMENT_BODY = "government_body", _("Government body")
    DEVELOPMENT_AGENCY = "development_agency", _("Development agency")
    OTHER = "other", _("Other")


class ProgrammeStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    FORMULATION = "formulation", _("In formulation")
    SIGNED = "signed", _("Signed")
    IMPLEMENTATION = "implementation", _("In implementation")
    CLOSED = "closed", _("Closed")


class ProjectSector(models.TextChoices):
    ICT = "ict", _("Information and communication technology")
    ENERGY = "energy", _("Energy")


class ProjectStatus(models.TextChoices):
    FORMULATION = "formulation", _("In formulation")
    APPROVED = "approved", _("Approved")
    IMPLEMENTATION = "implementation", _("In implementation")
    COMPLETED = "completed", _("Completed")
    DROPPED = "dropped", _("Dropped")


class InteractionKind(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    VISIT = "visit", _("Visit")
    EVENT = "event", _("Event")
    OTHER = "other", _("Other")


class PartnershipRole(models.TextChoices):
    FUNDER = "funder", _("Funder")
    TECHNOLOGY_PARTNER = "technology_partner", _("Technology partner")
    PAYMENT_NETWORK = "payment_network", _("Payment network")
    INVESTOR = "investor", _("Investor")
    ACADEMIC_PARTNER = "academic_partner", _("Academic partner")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure and logistics")
    ADVISOR = "advisor", _("Advisor")
    OTHER = "other", _("Other")


class PartnershipStage(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    CONTACTED = "contacted", _("Contacted")
    EXPLORING = "exploring", _("Exploring")
    PROPOSAL = "proposal", _("Proposal / concept note")
    AGREEMENT = "agreement", _("Agreement (MoU) signed")
    # A partnership is masculine in French ("Actif"), an API key feminine
    # ("Active"): the context keeps the two words apart in the catalogue.
    ACTIVE = "active", pgettext_lazy("partnership stage", "Active")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting on partner")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# The partial indexes on open follow-ups name these literally: an index condition
# must match the queries' condition exactly for the planner to use it.
OPEN_FOLLOW_UP_STATUSES = ["open", "in_progress", "waiting"]


class DigestKind(models.TextChoices):
    DAILY = "daily", _("Daily digest")
    WEEKLY = "weekly", _("Weekly summary")


class DigestStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class FollowUpPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class ImportKind(models.TextChoices):
    """What a spreadsheet import holds (the values of ``crm.importing``)."""

    ORGANIZATIONS = "organizations", _("Organisations")
    PEOPLE = "people", _("People")


# Commitments, agreements and documents (issue 12).


class Currency(models.TextChoices):
    """Currencies a commitment may be stated in (ISO 4217 codes)."""

    XOF = "XOF", _("CFA franc (XOF)")
    EUR = "EUR", _("Euro (EUR)")
    USD = "USD", _("US dollar (USD)")


class CommitmentKind(models.TextChoices):
    INVESTMENT_INTENT = "investment_intent", _("Investment intent")
    FINANCING = "financing", _("Financing")
    TECHNICAL_ASSISTANCE = "technical_assistance", _("Technical assistance")
    IN_KIND = "in_kind", _("In kind")
    POLICY = "policy", _("Policy")
    OTHER = "other", _("Other")


class CommitmentStatus(models.TextChoices):
    ANNOUNCED = "announced", _("Announced")
    CONFIRMED = "confirmed", _("Confirmed")
    DELIVERED = "delivered", _("Delivered")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LAPSED = "lapsed", _("Lapsed")


class AgreementKind(models.TextChoices):
    NDA = "nda", _("Non-disclosure agreement")
    LETTER_OF_INTENT = "letter_of_intent", _("Letter of intent")
    MOU = "mou", _("Memorandum of understanding")
    FINANCING = "financing", _("Financing agreement")
    OTHER = "other", _("Other")


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNDER_REVIEW = "under_review", _("Under review")
    SIGNED = "signed", _("Signed")
    IN_FORCE = "in_force", _("In force")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


class DocumentType(models.TextChoices):
    """File types accepted, as recognised from the content (never the name)."""

    PDF = "application/pdf", _("PDF")
    DOCX = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _("Word document (DOCX)"),
    )
    XLSX = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _("Excel workbook (XLSX)"),
    )
    ODT = "application/vnd.oasis.opendocument.text", _("OpenDocument text (ODT)")
    PNG = "image/png", _("PNG image")
    JPEG = "image/jpeg", _("JPEG image")
