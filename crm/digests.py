"""The daily digest: one e-mail per member of staff per day, computed from the data.

``send_digests`` (the management command) calls ``run``. For each active member
of staff it computes what is theirs (pure reads: ``compute``), and when there is
something to report, claims the (user, day) by inserting a ``DigestLog`` row,
sends, then marks the row sent or failed. The weekly summary (``crm.weekly``,
``send_digests --weekly``) goes through the same ``deliver``, claiming
(user, "weekly", Monday of the week) instead.

Claiming by INSERT makes the run idempotent and safe from several servers at
once: the unique (user, kind, digest_on) lets exactly one INSERT through, so a second
run, here or elsewhere, finds the row and skips that digest. A failed row is
claimed again by the next run (``attempts`` + 1). A row left "sending" by a
process that died between claim and mark is claimed again once older than
``claim_lease()``; the price is that if the process died *after* the mail left,
that person gets the digest twice, which beats never getting it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Window
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from crm import retention, roles, tallies
from crm.agenda import GROUP_LIMIT, WAITING_TOO_LONG_DAYS, digest_groups, first_and_total
from crm.emails import build_message, language_of, subject_line
from crm.models import (
    Agreement,
    DigestLog,
    FollowUp,
    MailMessage,
    Partnership,
    Person,
    Project,
)
from crm.models.agreements import ENDING_SOON_DAYS

logger = logging.getLogger(__name__)


# How many waiting messages a digest names; the rest are counted.
MAIL_LIMIT = 10


def claim_lease() -> timedelta:
    """Return how long a claim lasts: a row still "sending" after it belongs to a dead run.

    Minutes, not an hour (``CRM_DIGEST_CLAIM_LEASE_MINUTES``): with the command
    run hourly, a killed run's digests go out with the next run. Sending one
    digest takes seconds, so a live run never holds a claim that long.
    """
    return timedelta(minutes=settings.CRM_DIGEST_CLAIM_LEASE_MINUTES)


@dataclass
class ProjectSummary:
    project: Project
    open_count: int
    overdue_count: int
    due_soon_count: int
    quiet_count: int


@dataclass
class Digest:
    """What one person should hear about on one day.

    Each list holds at most GROUP_LIMIT items; ``totals`` says how many there
    are in all (a list without a total is complete).
    """

    user: object
    on: date
    overdue: list[FollowUp] = field(default_factory=list)
    due_soon: list[FollowUp] = field(default_factory=list)
    waiting: list[FollowUp] = field(default_factory=list)
    stale: list[Partnership] = field(default_factory=list)
    # Coordination only: the whole programme, project by project.
    projects: list[ProjectSummary] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    # Agreements the person owns that end within 60 days (crm.views.sections).
    agreements_ending: list[Agreement] = field(default_factory=list)
    # Messages the person sent, forwarded or uploaded that wait in "Courriels à
    # classer": the first MAIL_LIMIT, newest first, and how many in all.
    mail_to_file: list[MailMessage] = field(default_factory=list)
    mail_total: int = 0
    # The data-protection officer only: people whose retention runs out within
    # retention.NOTICE_DAYS (or has run out), each with ``due_on``; how many in all.
    retention_due: list[Person] = field(default_factory=list)
    retention_total: int = 0

    @property
    def is_empty(self) -> bool:
        """Tell whether there is nothing of the person's own to report.

        The per-project summary alone does not make an e-mail: it would reach
        every coordinator every day, whatever happened.
        """
        return (
            not any(self.counts.values())
            and not self.agreements_ending
            and not self.mail_total
            and not self.retention_total
        )

    @property
    def more_mail(self) -> int:
        return self.mail_total - len(self.mail_to_file)

    @property
    def more_retention(self) -> int:
        return self.retention_total - len(self.retention_due)

    @property
    def counts(self) -> dict[str, int]:
        return {
            name: self.totals.get(name, len(getattr(self, name)))
            for name in ("overdue", "due_soon", "waiting", "stale")
        }

    @property
    def more(self) -> dict[str, int]:
        """Return, per list, how many items the e-mail does not list."""
        return {name: count - len(getattr(self, name)) for name, count in self.counts.items()}


# Reading.


def recipients(*, username: str | None = None):
    """Return the active members of staff, with their profile (the language)."""
    users = roles.staff_members().select_related("crm_profile")
    if username is not None:
        users = users.filter(username=username)
    return users


def coordinator_ids() -> set[int]:
    """Return the ids of the users who get the per-project summary (one query)."""
    users = get_user_model().objects.filter(
        Q(is_superuser=True) | Q(groups__name=roles.COORDINATION)
    )
    return set(users.values_list("pk", flat=True))


def officer_ids() -> set[int]:
    """Return the ids of the data-protection officers: those given the role (one query)."""
    users = get_user_model().objects.filter(is_active=True, groups__name=roles.DATA_PROTECTION)
    return set(users.values_list("pk", flat=True))


def team_summary(*, on: date) -> list[ProjectSummary]:
    """Return each project's open, overdue and due-soon follow-ups, and quiet partners."""
    quiet = dict(
        Partnership.objects.gone_quiet(today=on)
        .order_by()
        .values_list("project_id")
        .annotate(count=Count("pk"))
    )
    return [
        ProjectSummary(
            project=project,
            open_count=project.open_count,
            overdue_count=project.overdue_count,
            due_soon_count=project.due_soon_count,
            quiet_count=quiet.get(project.pk, 0),
        )
        for project in tallies.count_projects(Project.objects.order_by("name"), today=on)
    ]


def mail_to_file(user_ids) -> dict[int, tuple[list[MailMessage], int]]:
    """Return, per user, the first messages of theirs waiting to be filed, and how many.

    One query for everyone, whatever the volume: each waiting message belongs to
    who filed it (the colleague who sent or forwarded it), else who uploaded
    it; a window numbers each person's messages, newest first, and counts them,
    and only the first MAIL_LIMIT of each come back.
    """
    owner = Coalesce("filed_by_id", "received_by_id")
    rows = (
        MailMessage.objects.waiting()
        .annotate(owner=owner)
        .filter(owner__in=list(user_ids))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[owner],
                order_by=[F("received_at").desc(), F("pk").desc()],
            ),
            total=Window(Count("pk"), partition_by=[owner]),
        )
        .filter(rank__lte=MAIL_LIMIT)
        .only("pk", "subject", "from_name", "from_address", "sent_at", "received_at", "status")
        .order_by("owner", "rank")
    )
    found: dict[int, tuple[list[MailMessage], int]] = {}
    for message in rows:
        messages, _total = found.get(message.owner, ([], message.total))
        messages.append(message)
        found[message.owner] = (messages, message.total)
    return found


def compute(
    user,
    *,
    on: date,
    projects: list[ProjectSummary] | None = None,
    coordination: bool = False,
    mail: tuple[list[MailMessage], int] | None = None,
    retention_due: tuple[list[Person], int] = ([], 0),
) -> Digest:
    """Return ``user``'s digest for the day ``on``, in six queries whatever the volume.

    The follow-ups are read as on the dashboard (crm.agenda); "due soon" is
    the dashboard's "due today" and "due this week" together. Each list stops
    at GROUP_LIMIT items; the counts are complete. ``mail`` is the user's entry
    of ``mail_to_file`` when the caller read it for everyone at once;
    ``retention_due``, for an officer, ``retention.coming_due``'s answer.
    """
    if mail is None:
        mail = mail_to_file([user.pk]).get(user.pk, ([], 0))
    # A digest is real mail about real work: demonstration follow-ups stay out.
    follow_ups = (
        FollowUp.objects.for_assignee(user)
        .filter(is_demo=False)
        .select_related("project", "organization")
    )
    groups = digest_groups(follow_ups, today=on)
    # The partnerships the user owns; a coordinator also hears of those that
    # nobody owns, so that no silence goes unreported.
    stale = (
        Partnership.objects.gone_quiet(today=on)
        .watched_by(user, coordination=coordination)
        .select_related("organization", "project")
    )
    stale_list, stale_total = first_and_total(stale, limit=GROUP_LIMIT)
    return Digest(
        user=user,
        on=on,
        overdue=groups["overdue"].follow_ups,
        due_soon=groups["due_soon"].follow_ups,
        waiting=groups["waiting"].follow_ups,
        stale=stale_list,
        projects=projects or [],
        totals={
            **{key: group.total for key, group in groups.items()},
            "stale": stale_total,
        },
        agreements_ending=agreements_ending(user, on=on),
        mail_to_file=mail[0],
        mail_total=mail[1],
        retention_due=retention_due[0],
        retention_total=retention_due[1],
    )


def agreements_ending(user, *, on: date) -> list[Agreement]:
    """Return the agreements ``user`` owns that end within 60 days, soonest first (one query).

    Each carries ``days_left`` and ``within_near`` (30 days or fewer).
    """
    near, far = ENDING_SOON_DAYS
    agreements = list(
        Agreement.objects.ending_within(far, today=on)
        .filter(owner=user)
        .order_by("expires_on")[:GROUP_LIMIT]
    )
    for agreement in agreements:
        agreement.days_left = (agreement.expires_on - on).days
        agreement.within_near = agreement.days_left <= near
    return agreements


# Writing the e-mail.


def subject(digest: Digest) -> str:
    """Return the subject, e.g. "[Compact CRM] 3 overdue, 2 due this week"."""
    parts = []
    counts = digest.counts
    if counts["overdue"]:
        n = counts["overdue"]
        parts.append(ngettext("%(count)d overdue", "%(count)d overdue", n) % {"count": n})
    if counts["due_soon"]:
        n = counts["due_soon"]
        parts.append(
            ngettext("%(count)d due within 7 days", "%(count)d due within 7 days", n)
            % {"count": n}
        )
    if counts["waiting"]:
        n = counts["waiting"]
        parts.append(
            ngettext("%(count)d waiting on the partner", "%(count)d waiting on the partner", n)
            % {"count": n}
        )
    if digest.agreements_ending:
        n = len(digest.agreements_ending)
        parts.append(
            ngettext("%(count)d agreement ending soon", "%(count)d agreements ending soon", n)
            % {"count": n}
        )
    if counts["stale"]:
        n = counts["stale"]
        parts.append(
            ngettext("%(count)d partnership gone quiet", "%(count)d partnerships gone quiet", n)
            % {"count": n}
        )
    if digest.mail_total:
        n = digest.mail_total
        parts.append(
            ngettext("%(count)d e-mail to file", "%(count)d e-mails to file", n) % {"count": n}
        )
    if digest.retention_total:
        n = digest.retention_total
        parts.append(
            ngettext(
                "%(count)d person coming due for erasure",
                "%(count)d people coming due for erasure",
                n,
            )
            % {"count": n}
        )
    return subject_line(", ".join(parts))


def message(digest: Digest):
    """Return the digest as an e-mail (text and HTML) in the person's language."""
    with translation.override(language_of(digest.user)):
        return build_message(
            to=digest.user,
            subject=subject(digest),
            template="digest",
            context={
                "digest": digest,
                "dashboard_url": reverse("dashboard"),
                "mail_url": reverse("mail"),
                "retention_url": reverse("privacy-retention"),
                "retention_years": retention.person_years(),
                "waiting_days": WAITING_TOO_LONG_DAYS,
            },
        )


# Claiming and sending.


def claim(
    user, *, on: date, counts: dict[str, int], now: datetime, kind: str = DigestLog.Kind.DAILY
) -> DigestLog | None:
    """Take the (user, kind, day) for this run; return its log row, or None if taken.

    The INSERT runs in its own short transaction: of two runs racing, the
    database lets exactly one through. A failed row, or one stuck "sending"
    past ``claim_lease()``, is taken back under a row lock: a run that finds the
    row locked skips it (SKIP LOCKED), and one that comes after the lock is
    released sees "sending" and leaves it. (SQLite has no row locks, but its
    IMMEDIATE transactions run the whole block one run at a time.)
    """
    try:
        with transaction.atomic():
            return DigestLog.objects.create(
                user=user,
                kind=kind,
                digest_on=on,
                status=DigestLog.Status.SENDING,
                claimed_at=now,
                **counts,
            )
    except IntegrityError:
        pass
    retryable = Q(status=DigestLog.Status.FAILED) | Q(
        status=DigestLog.Status.SENDING, claimed_at__lt=now - claim_lease()
    )
    with transaction.atomic():
        log = (
            DigestLog.objects.filter(retryable, user=user, kind=kind, digest_on=on)
            .select_for_update(skip_locked=True)
            .first()
        )
        if log is None:
            return None
        log.status = DigestLog.Status.SENDING
        log.claimed_at = now
        log.attempts += 1
        log.error = ""
        for name, value in counts.items():
            setattr(log, name, value)
        log.save()
    return log


def logs_of(users, *, kind: str, on: date) -> dict[int, DigestLog]:
    """Return the log rows of ``users`` for (``kind``, ``on``), by user id (one query)."""
    rows = DigestLog.objects.filter(kind=kind, digest_on=on, user__in=[u.pk for u in users])
    return {log.user_id: log for log in rows}


def mark_sent(log: DigestLog) -> None:
    DigestLog.objects.filter(pk=log.pk).update(
        status=DigestLog.Status.SENT, sent_at=timezone.now(), error=""
    )


def mark_failed(log: DigestLog, error: Exception) -> None:
    DigestLog.objects.filter(pk=log.pk).update(
        status=DigestLog.Status.FAILED, error=f"{type(error).__name__}: {error}"
    )


# One run.

SENT = "sent"
FAILED = "failed"
WOULD_SEND = "would_send"
# Skipped, with the reason.
ALREADY_SENT = "already_sent"
TAKEN = "taken"
NOTHING = "nothing"
NO_EMAIL = "no_email"
SKIPPED = (ALREADY_SENT, TAKEN, NOTHING, NO_EMAIL)


@dataclass
class Outcome:
    user: object
    result: str
    # What was (or would be) sent: a Digest, or a crm.weekly.Summary.
    digest: object | None = None
    error: str = ""


@dataclass
class Run:
    on: date
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, *results: str) -> int:
        return sum(outcome.result in results for outcome in self.outcomes)

    @property
    def sent(self) -> int:
        return self.count(SENT, WOULD_SEND)

    @property
    def skipped(self) -> int:
        return self.count(*SKIPPED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)


def run(*, on: date, username: str | None = None, dry_run: bool = False) -> Run:
    """Send the day's digests that are not sent yet; never stop at one failure."""
    users = list(recipients(username=username))
    logs = logs_of(users, kind=DigestLog.Kind.DAILY, on=on)
    coordinators = coordinator_ids()
    projects = team_summary(on=on) if coordinators & {u.pk for u in users} else []
    mail = mail_to_file([u.pk for u in users])
    officers = officer_ids()
    coming_due = retention.coming_due(on=on) if officers & {u.pk for u in users} else ([], 0)
    result = Run(on=on, dry_run=dry_run)
    for user in users:
        summary = projects if user.pk in coordinators else None
        outcome = deliver(
            user,
            kind=DigestLog.Kind.DAILY,
            on=on,
            log=logs.get(user.pk),
            compose=lambda user=user, summary=summary: compute(
                user,
                on=on,
                projects=summary,
                coordination=summary is not None,
                mail=mail.get(user.pk, ([], 0)),
                retention_due=coming_due if user.pk in officers else ([], 0),
            ),
            # Looked up at each call, so that tests may replace ``message``.
            write=lambda digest: message(digest),
            dry_run=dry_run,
        )
        result.outcomes.append(outcome)
    return result


def deliver(
    user,
    *,
    kind: str,
    on: date,
    log: DigestLog | None,
    compose: Callable[[], object],
    write: Callable[[object], object],
    dry_run: bool,
) -> Outcome:
    """Send one person's e-mail of ``kind`` for ``on`` unless it is sent or being sent.

    The one path of every digest and summary: skip what the log says is done or
    taken, ``compose()`` the content (pure reads; it has ``is_empty`` and
    ``counts``), claim, ``write(content).send()``, mark. ``on`` is the claimed
    day: the day of a daily digest, the Monday of a weekly summary.
    """
    now = timezone.now()
    if log is not None:
        if log.status == DigestLog.Status.SENT:
            return Outcome(user, ALREADY_SENT)
        if log.status == DigestLog.Status.SENDING and log.claimed_at >= now - claim_lease():
            return Outcome(user, TAKEN)
    try:
        content = compose()
    except Exception as error:
        logger.exception("%s of %s for %s could not be computed", kind, user, on)
        return Outcome(user, FAILED, error=f"{type(error).__name__}: {error}")
    if content.is_empty:
        return Outcome(user, NOTHING, content)
    if not user.email:
        return Outcome(user, NO_EMAIL, content)
    if dry_run:
        return Outcome(user, WOULD_SEND, content)
    log = claim(user, kind=kind, on=on, counts=content.counts, now=now)
    if log is None:
        return Outcome(user, TAKEN, content)
    try:
        write(content).send()
    except Exception as error:
        logger.exception("%s to %s for %s failed", kind, user, on)
        mark_failed(log, error)
        return Outcome(user, FAILED, content, error=f"{type(error).__name__}: {error}")
    mark_sent(log)
    return Outcome(user, SENT, content)
