"""Where facts come from: every record loaded from a document points at it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.managers import NaturalKeyManager
from crm.models.choices import DatePrecision, Language, SourceKind
from crm.models.constraints import choices_constraint


class Source(models.Model):
    """A document that records were taken from, so every fact can be traced."""

    Kind = SourceKind

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    published_on_precision = models.CharField(
        _("precision of the publication date"),
        max_length=20,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    url = models.URLField(_("URL"), blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=300,
        blank=True,
        help_text=_("Where the document is kept when it has no URL (file name, archive)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    document = models.ForeignKey(
        "crm.Document",
        verbose_name=_("document"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sources",
        help_text=_("The kept file this source is, when it is one."),
    )

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["-published_on", "title"]
        constraints = [
            choices_constraint("kind", SourceKind, "source"),
            choices_constraint("language", Language, "source"),
            choices_constraint("published_on_precision", DatePrecision, "source"),
        ]

    def __str__(self) -> str:
        return self.title

    def natural_key(self) -> tuple[str]:
        return (self.slug,)
