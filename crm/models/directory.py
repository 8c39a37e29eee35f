"""Who the unit deals with: organisations, people and the roles they hold."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.mail.domains import validate_email_domains
from crm.managers import AffiliationManager, MergeQuerySet, NaturalKeyManager
from crm.models.choices import Language, LegalBasis, OrganizationKind
from crm.models.constraints import choices_constraint, span_constraint
from crm.models.sources import Source


class Organization(models.Model):
    """A company, university, investor, public body… that the unit deals with."""

    Kind = OrganizationKind

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("As written in the source."))
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. US, TG.")
    )
    country_inferred = models.BooleanField(
        _("country inferred"),
        default=False,
        help_text=_("Deduced, not stated by the source: shown as such until confirmed."),
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    # Comma-separated, lower case, no "@": how mail is matched to the organisation.
    email_domains = models.CharField(
        _("e-mail domains"),
        max_length=500,
        blank=True,
        validators=[validate_email_domains],
        help_text=_(
            "The domains of its staff's addresses, e.g. mastercard.com; never a public "
            "webmail such as gmail.com. Mail from these domains is filed with it."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    is_identified = models.BooleanField(
        _("identified"),
        default=True,
        help_text=_(
            "Off for a placeholder such as “venture-capital firms (not named)”, "
            "to be resolved into real organisations later."
        ),
    )
    needs_verification = models.BooleanField(_("to verify"), default=False)
    verification_note = models.TextField(_("verification note"), blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NaturalKeyManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            choices_constraint("kind", OrganizationKind, "organization"),
            # A flag without its reason helps nobody who later checks it.
            models.CheckConstraint(
                condition=Q(needs_verification=False) | ~Q(verification_note=""),
                name="crm_organization_verification_has_note",
            ),
        ]
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_organization_sync_idx"),
            # Admin changelist: ORDER BY name, id DESC LIMIT 100.
            models.Index(fields=["name"], name="crm_organization_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organization", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Person(models.Model):
    """Someone the unit deals with; roles are held through affiliations."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Empty until somebody knows it: a default would pass for a fact.
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    # Why the unit holds this person's data, and where it came from: empty
    # until the data-protection officer reviews it; none is assumed.
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=30,
        choices=LegalBasis.choices,
        blank=True,
        help_text=_("Empty: to be reviewed by the data-protection officer."),
    )
    data_origin = models.CharField(
        _("where the data comes from"),
        max_length=300,
        blank=True,
        help_text=_("For example: business card given at the meeting of 17 October 2023."),
    )
    reviewed_on = models.DateField(_("last reviewed"), null=True, blank=True)
    objects_to_processing = models.BooleanField(
        _("objects to the processing"),
        default=False,
        help_text=_("No new follow-up names them and no e-mail is filed to them."),
    )
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NaturalKeyManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["family_name", "given_name"]
        # The data-protection officer's, not Coordination's (crm.roles).
        permissions = [
            ("answer_privacy_requests", _("Can answer data-protection requests")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(legal_basis="") | Q(legal_basis__in=LegalBasis.values),
                name="crm_person_legal_basis_valid",
            ),
            models.CheckConstraint(
                condition=Q(preferred_language="") | Q(preferred_language__in=Language.values),
                name="crm_person_preferred_language_valid",
            ),
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="crm_person_email_unique"
            ),
        ]
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_person_sync_idx"),
            # Admin changelist: ORDER BY family_name, given_name, id DESC LIMIT 100.
            models.Index(fields=["family_name", "given_name"], name="crm_person_name_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("person", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class Affiliation(models.Model):
    """A role a person holds in an organisation. Ended, never deleted."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="affiliations"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="affiliations",
    )
    title = models.CharField(_("title or role"), max_length=200)
    start_on = models.DateField(_("start"), null=True, blank=True)
    end_on = models.DateField(_("end"), null=True, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    objects = AffiliationManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        ordering = ["-is_primary", "title"]
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_affiliation_sync_idx"),
        ]
        constraints = [
            span_constraint("start_on", "end_on", "affiliation"),
            models.UniqueConstraint(
                fields=["person", "organization", "title"],
                condition=Q(end_on__isnull=True),
                name="crm_affiliation_one_active_per_role",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(is_primary=True, end_on__isnull=True),
                name="crm_affiliation_one_primary_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.title}, {self.organization}"

    def natural_key(self) -> tuple:
        start_on = self.start_on.isoformat() if self.start_on else None
        return (self.person.slug, self.organization.slug, self.title, start_on)

    natural_key.dependencies = ["crm.person", "crm.organization"]

    @property
    def is_active(self) -> bool:
        return self.end_on is None


class MergeKind(models.TextChoices):
    ORGANIZATION = "organization", _("Organisation")
    PERSON = "person", _("Person")


class Merge(models.Model):
    """The record of two organisations, or two people, merged into one.

    The removed record's own history stays in its history table under its id;
    this row says where it went, who merged it and what moved.
    """

    Kind = MergeKind

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    kept_id = models.PositiveBigIntegerField(_("record kept"))
    kept_name = models.CharField(_("name of the record kept"), max_length=300)
    removed_id = models.PositiveBigIntegerField(_("record merged into it"))
    removed_slug = models.CharField(_("slug of the record merged"), max_length=100)
    removed_name = models.CharField(_("name of the record merged"), max_length=300)
    moved = models.JSONField(_("what moved"), default=dict)
    reason = models.TextField(_("reason"), blank=True)
    merged_at = models.DateTimeField(_("merged at"))
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = MergeQuerySet.as_manager()

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-merged_at", "-id"]
        constraints = [choices_constraint("kind", MergeKind, "merge")]
        indexes = [
            # Merge.objects.survivor_id(): a merged record's old address,
            # WHERE kind = … AND removed_slug = … ORDER BY merged_at DESC.
            models.Index(fields=["kind", "removed_slug"], name="crm_merge_removed_slug_idx"),
            # The same, following a chain: WHERE kind = … AND removed_id = ….
            models.Index(fields=["kind", "removed_id"], name="crm_merge_removed_id_idx"),
            # An organisation's timeline: WHERE kind = … AND kept_id = … ORDER BY merged_at DESC.
            models.Index(fields=["kind", "kept_id"], name="crm_merge_kept_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.removed_name} → {self.kept_name}"
