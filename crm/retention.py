"""Retention that runs by itself (Togo, law n° 2019-014): how long each kind of data is kept.

Four categories, each with its period in the settings:

- **people** with no contact for ``CRM_PERSON_RETENTION_YEARS`` years are
  erased (``crm.services.erasure``): what identifies them goes, the facts stay;
- **e-mail bodies** older than ``CRM_MAIL_BODY_RETENTION_DAYS`` are blanked;
- **export log** entries older than ``CRM_EXPORT_LOG_RETENTION_DAYS`` are deleted;
- **access log** entries older than ``CRM_ACCESS_LOG_RETENTION_DAYS`` are deleted.

``manage.py apply_retention`` runs them all (``--dry-run`` lists what it would
do); the daily digest tells the data-protection officer who comes due in the
next ``NOTICE_DAYS`` days, while there is time to review them.

A person's clock starts at the latest of: a meeting they attended (a
cancelled one does not count), an e-mail filed to them, a mission they were
part of, a follow-up naming them, a contact recorded when one was done, the
officer's last review of their record ("reviewed on": the officer saw that
the data is still needed), and the day they were entered. A person named by
a follow-up still open is not due, whatever the dates: the work needs them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import audit
from crm.agenda import first_and_total
from crm.models import (
    FollowUp,
    InteractionPerson,
    MailMessage,
    MissionMember,
    Person,
    PersonRead,
)
from crm.services.erasure import person_erase
from crm.services.mail import mail_purge_bodies

# How long before a person comes due the officer hears of it (the digest).
NOTICE_DAYS = 30
# How many people a dry run or a digest names; the rest are counted.
LISTED = 50


def years_before(day: date, years: int) -> date:
    """Return the same day ``years`` years earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    return years_before(day, -years)


@dataclass(frozen=True)
class Contact:
    """One kind of contact with a person, and where its date is (see the module)."""

    rows: Callable[[], models.QuerySet]
    # The field of ``rows`` that names the person.
    person: str
    # The lookup of its date ("received_at__date"), and the same as an expression.
    on: str
    value: Any


CONTACTS = (
    Contact(
        lambda: InteractionPerson.objects.filter(interaction__cancelled_at__isnull=True),
        "person",
        "interaction__occurred_on",
        F("interaction__occurred_on"),
    ),
    Contact(MailMessage.objects.all, "person", "received_at__date", TruncDate("received_at")),
    Contact(MissionMember.objects.all, "person", "mission__end_on", F("mission__end_on")),
    Contact(FollowUp.objects.all, "person", "due_on", F("due_on")),
    Contact(
        lambda: FollowUp.objects.filter(completed_at__isnull=False),
        "completion_contact",
        "completed_at__date",
        TruncDate("completed_at"),
    ),
)


def _latest(contact: Contact) -> Subquery:
    """The latest date of ``contact`` with the person (NULL when none)."""
    return Subquery(
        contact.rows()
        .filter(**{contact.person: OuterRef("pk")})
        .order_by()
        .values(contact.person)
        .annotate(latest=Max(contact.value))
        .values("latest"),
        output_field=models.DateField(),
    )


def with_kept_from(people):
    """Annotate ``kept_from``: the day the person's retention clock starts (see the module).

    Each contact is one correlated subquery on an indexed foreign key; every
    one falls back on the day the person was entered, since SQLite's MAX()
    of several values is NULL when one of them is.
    """
    entered = TruncDate("created_at")
    sources = [*(_latest(contact) for contact in CONTACTS), F("reviewed_on")]
    return people.annotate(
        kept_from=Greatest(
            entered,
            *(Coalesce(source, entered) for source in sources),
            output_field=models.DateField(),
        )
    )


def _watched():
    """The people retention watches: not erased, not needed by open work."""
    open_work = FollowUp.objects.open().filter(person=OuterRef("pk"))
    return Person.objects.filter(erased_at__isnull=True).exclude(Exists(open_work))


def people_kept():
    """Return the people retention watches, each with ``kept_from``."""
    return with_kept_from(_watched())


def person_years() -> int:
    return settings.CRM_PERSON_RETENTION_YEARS


def people_due(*, on: date):
    """Return the people whose retention has run out on the day ``on``, the longest gone first.

    Due means every date of ``with_kept_from`` is before the cutoff; the
    filter says it as "no contact on or after it" (one indexed probe each,
    stopping at the first found), so that only the people due have
    ``kept_from`` computed: the daily run and the officer's page cost what is
    due, not what everyone has.
    """
    cutoff = years_before(on, person_years())
    due = _watched().filter(created_at__date__lt=cutoff).exclude(reviewed_on__gte=cutoff)
    for contact in CONTACTS:
        recent = contact.rows().filter(
            **{f"{contact.on}__gte": cutoff, contact.person: OuterRef("pk")}
        )
        due = due.exclude(Exists(recent))
    return with_kept_from(due).order_by("kept_from", "pk")


def people_coming_due(*, on: date, within: int = NOTICE_DAYS):
    """Return the people due within ``within`` days of ``on`` (or due already), soonest first.

    A run that has not come yet still has those already due.
    """
    return people_due(on=on + timedelta(days=within))


def coming_due(*, on: date, within: int = NOTICE_DAYS) -> tuple[list[Person], int]:
    """Return the first LISTED people ``people_coming_due``, each with ``due_on``, and how many.

    One query: the count is a window over the same rows.
    """
    people, total = first_and_total(
        people_coming_due(on=on, within=within).only("pk", "slug", "given_name", "family_name"),
        limit=LISTED,
    )
    for person in people:
        person.due_on = due_on(person)
    return people, total


def due_on(person: Person) -> date:
    """Return the first day ``person`` (annotated with ``kept_from``) may be erased."""
    return years_after(person.kept_from, person_years()) + timedelta(days=1)


def erasure_reason(person: Person) -> str:
    """The reason logged with an erasure made by retention (no name in it: the log outlives it)."""
    return (
        f"Durée de conservation : aucun contact depuis le {person.kept_from:%d/%m/%Y} "
        f"(CRM_PERSON_RETENTION_YEARS = {person_years()} ans)."
    )


# The run.


@dataclass
class Category:
    """One kind of data with its period, and what a run did (or would do) about it."""

    key: str
    label: str
    period: str
    count: int = 0
    # The people a run erased or would erase (at most LISTED), with their dates.
    listed: list[tuple[Person, date]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    on: date
    dry_run: bool
    categories: list[Category] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(len(category.errors) for category in self.categories)


def run(*, now: datetime | None = None, dry_run: bool = False) -> Report:
    """Apply every retention period as of ``now``; with ``dry_run``, only count and list.

    Every step is idempotent (an erased person is not erased again, a purged
    body not purged again), so a run stopped half-way is finished by the next;
    ``manage.py apply_retention`` holds a lock so that two hosts do not run at once.
    """
    now = now or timezone.now()
    on = timezone.localdate(now)
    report = Report(on=on, dry_run=dry_run)
    report.categories = [
        _people(on=on, dry_run=dry_run),
        _mail_bodies(now=now, dry_run=dry_run),
        _log(
            "export_log",
            _("Export log"),
            settings.CRM_EXPORT_LOG_RETENTION_DAYS,
            lambda: audit.purge(now=now, dry_run=dry_run),
        ),
        _log(
            "access_log",
            _("Access log"),
            settings.CRM_ACCESS_LOG_RETENTION_DAYS,
            lambda: purge_access_log(now=now, dry_run=dry_run),
        ),
    ]
    return report


def _people(*, on: date, dry_run: bool) -> Category:
    years = person_years()
    category = Category(
        "people",
        str(_("People with no contact")),
        str(_("%(years)s years") % {"years": years}),
    )
    if dry_run:
        due = list(people_due(on=on)[: LISTED + 1])
        category.count = people_due(on=on).count() if len(due) > LISTED else len(due)
        category.listed = [(person, person.kept_from) for person in due[:LISTED]]
        return category
    # One person at a time, each erasure its own transaction: a run killed
    # half-way keeps what it did.
    for person in people_due(on=on).iterator(chunk_size=100):
        try:
            person_erase(person=person, by=None, reason=erasure_reason(person))
        except ValidationError as error:
            # Erased meanwhile by another run or by the officer: nothing to do.
            category.errors.append(f"#{person.pk}: {' '.join(error.messages)}")
            continue
        category.count += 1
        if len(category.listed) < LISTED:
            category.listed.append((person, person.kept_from))
    return category


def _mail_bodies(*, now: datetime, dry_run: bool) -> Category:
    days = settings.CRM_MAIL_BODY_RETENTION_DAYS
    category = Category("mail_bodies", str(_("E-mail bodies")), _days(days))
    if dry_run:
        category.count = MailMessage.objects.body_expired(now=now).count()
    else:
        category.count = mail_purge_bodies(now=now)
    return category


def _log(key: str, label, days: int, purge) -> Category:
    return Category(key, str(label), _days(days), count=purge())


def _days(days: int) -> str:
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}


def purge_access_log(*, now: datetime, dry_run: bool = False) -> int:
    """Delete the reads of personal data older than ``CRM_ACCESS_LOG_RETENTION_DAYS``."""
    cutoff = now - timedelta(days=settings.CRM_ACCESS_LOG_RETENTION_DAYS)
    # Served by crm_personread_read_at_idx.
    old = PersonRead.objects.filter(read_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted, _by_model = old.delete()
    return deleted
