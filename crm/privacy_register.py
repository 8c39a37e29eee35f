"""The register of processing: what the CRM does with personal data, for the IPDCP declaration.

Togo's law n° 2019-014 asks each processing to be declared beforehand to the
IPDCP. The register lists the CRM's processings with their purpose, the data
and the people concerned, the legal basis, who receives the data, how long it
is kept, where it is hosted and how it is protected. It is built from the
settings (retention periods, hosting) and the models (the fields that hold
personal data, how many people await a legal basis), so that it says what the
running CRM does; docs/privacy.md explains how to use it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm import xlsx
from crm.models import LegalBasis, Person

# The fields of a person that are personal data (their verbose names are the
# register's "data categories").
PERSON_DATA_FIELDS = ["given_name", "family_name", "email", "phone", "notes"]


@dataclass
class Processing:
    name: str
    purpose: str
    data: str
    people: str
    legal_basis: str
    recipients: str
    retention: str
    transfers: str
    security: str


def _hosting() -> str:
    where = settings.CRM_HOSTING_LOCATION
    if not where:
        return _(
            "Hosting location not set (CRM_HOSTING_LOCATION): say where the server and "
            "its backups are before declaring."
        )
    return _("Hosted in: %(where)s.") % {"where": where}


def _security() -> str:
    return _(
        "Login for every page and endpoint, with roles (Coordination, Staff, Read-only, "
        "Data protection); repeated failed logins locked out; HTTPS behind nginx in "
        "production; every change kept in a history; every export logged; documents "
        "never served as public files."
    )


def _legal_bases() -> str:
    # One GROUP BY: a handful of rows, however many people.
    counts = dict(
        Person.objects.filter(erased_at__isnull=True)
        .order_by()
        .values_list("legal_basis")
        .annotate(n=Count("id"))
    )
    parts = [
        f"{label}: {counts[value]}" for value, label in LegalBasis.choices if counts.get(value)
    ]
    if counts.get(""):
        parts.append(
            ngettext(
                "%(count)s person to be reviewed",
                "%(count)s people to be reviewed",
                counts[""],
            )
            % {"count": counts[""]}
        )
    return _("Set per person by the data-protection officer. Today: %(parts)s.") % {
        "parts": "; ".join(parts) or _("nobody on file")
    }


def processings() -> list[Processing]:
    """Return the CRM's processings of personal data, as the running CRM does them."""
    person_data = ", ".join(
        str(capfirst(Person._meta.get_field(name).verbose_name)) for name in PERSON_DATA_FIELDS
    )
    hosting, security = _hosting(), _security()
    return [
        Processing(
            name=_("Partner contacts"),
            purpose=_(
                "Follow the partnerships of the Compact projects: who was met, in which "
                "role, what was promised and what is to be done."
            ),
            data=_(
                "%(fields)s; roles in organisations; meetings attended and their summaries; "
                "follow-ups naming them."
            )
            % {"fields": person_data},
            people=_("Contacts at partner organisations, and members of delegations."),
            legal_basis=_legal_bases(),
            recipients=_("The unit's staff, by role; reports and exports they make."),
            retention=ngettext(
                "Erased after %(years)s year without contact (apply_retention, daily; the "
                "officer is warned 30 days before), or earlier on request; erasure replaces "
                "the name and blanks the contact details everywhere, history included.",
                "Erased after %(years)s years without contact (apply_retention, daily; the "
                "officer is warned 30 days before), or earlier on request; erasure replaces "
                "the name and blanks the contact details everywhere, history included.",
                settings.CRM_PERSON_RETENTION_YEARS,
            )
            % {"years": settings.CRM_PERSON_RETENTION_YEARS},
            transfers=hosting,
            security=security,
        ),
        Processing(
            name=_("Staff accounts"),
            purpose=_("Give the unit's staff access, each to what their role allows."),
            data=_("Name, e-mail, role, login attempts, language, API keys."),
            people=_("The unit's staff."),
            legal_basis=str(LegalBasis.CONTRACT.label),
            recipients=_("Coordination (accounts); the administrators of the server."),
            retention=_("While the person works with the unit; then deactivated."),
            transfers=hosting,
            security=security,
        ),
        Processing(
            name=_("E-mail filing"),
            purpose=_("Keep the correspondence with partners beside their record."),
            data=_("Senders and recipients, subject, body, attachments."),
            people=_("Partner contacts and staff who write to each other."),
            legal_basis=str(LegalBasis.LEGITIMATE_INTEREST.label),
            recipients=_("Staff and Coordination; Read-only sees subjects and dates only."),
            retention=ngettext(
                "Bodies and stored messages blanked after %(days)s day (apply_retention).",
                "Bodies and stored messages blanked after %(days)s days (apply_retention).",
                settings.CRM_MAIL_BODY_RETENTION_DAYS,
            )
            % {"days": settings.CRM_MAIL_BODY_RETENTION_DAYS},
            transfers=hosting,
            security=security,
        ),
        Processing(
            name=_("Exports"),
            purpose=_("Reports and lists for the unit and its leadership."),
            data=_("What the exported list holds; the export log keeps who, when, which filters."),
            people=_("Those named in the exported rows; the staff who export."),
            legal_basis=str(LegalBasis.PUBLIC_INTEREST.label),
            recipients=_("The staff member who exports; Coordination reads the export log."),
            retention=ngettext(
                "Export log entries deleted after %(days)s day (apply_retention).",
                "Export log entries deleted after %(days)s days (apply_retention).",
                settings.CRM_EXPORT_LOG_RETENTION_DAYS,
            )
            % {"days": settings.CRM_EXPORT_LOG_RETENTION_DAYS},
            transfers=hosting,
            security=security,
        ),
        Processing(
            name=_("Audit logs"),
            purpose=_(
                "Know who changed what, and answer data-protection requests (history of "
                "records, login attempts, requests answered)."
            ),
            data=_(
                "Who, when, which record, the values changed; who opened a person's page "
                "or exported a list of people."
            ),
            people=_("Staff; people whose records changed."),
            legal_basis=str(LegalBasis.LEGAL_OBLIGATION.label),
            recipients=_("Coordination (history); the data-protection officer (requests, reads)."),
            retention=_(
                "History: as long as the records it describes (an erasure takes the "
                "person's values out of it too). %(reads)s"
            )
            % {
                "reads": ngettext(
                    "Reads of personal data deleted after %(days)s day (apply_retention).",
                    "Reads of personal data deleted after %(days)s days (apply_retention).",
                    settings.CRM_ACCESS_LOG_RETENTION_DAYS,
                )
                % {"days": settings.CRM_ACCESS_LOG_RETENTION_DAYS}
            },
            transfers=hosting,
            security=security,
        ),
    ]


# Each column of the register, in the order the declaration asks for them.
FIELDS = [
    ("name", gettext_lazy("Processing")),
    ("purpose", gettext_lazy("Purpose")),
    ("data", gettext_lazy("Data categories")),
    ("people", gettext_lazy("People concerned")),
    ("legal_basis", gettext_lazy("Legal basis")),
    ("recipients", gettext_lazy("Recipients")),
    ("retention", gettext_lazy("Retention")),
    ("transfers", gettext_lazy("Hosting and transfers outside Togo")),
    ("security", gettext_lazy("Security measures")),
]


def entries() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return each processing's name and its (label, text) pairs, as the page shows them."""
    return [
        (row.name, [(str(label), getattr(row, name)) for name, label in FIELDS[1:]])
        for row in processings()
    ]


def write_xlsx(file) -> int:
    """Write the register as one sheet to ``file``; return its rows."""
    return xlsx.write_workbook(
        file,
        title=_("Register of processing"),
        headers=[str(label) for _name, label in FIELDS],
        cells=[xlsx.Cell.TEXT] * len(FIELDS),
        widths=[24.0] * len(FIELDS),
        rows=([getattr(row, name) for name, _label in FIELDS] for row in processings()),
        max_width=80,
    )
