"""The weekly summary: the overview's headline figures and what moved in the week, by e-mail.

Who: the active members of staff whose profile asks for it
(``StaffProfile.weekly_summary``), and Coordination (and superusers) unless they
said no: ``wants_summary_q`` is the rule, in one place.

What: the same for everyone, so read once per run (``build``, a fixed number of
queries whatever the volume, from the overview's aggregates): per project, the
partners per stage now and those that moved in the last ``overview.WEEK`` days
(new, forward, back, withdrawn); the open and overdue follow-ups (the kept
totals of ``crm.tallies``); the partnerships gone quiet; the commitments' totals.
Demonstration records are left out, as on the overview. Each person reads it in
their language, with absolute links to the overview and the lists behind it.

When: ``send_digests --weekly``, through ``crm.digests.deliver`` (claim, send,
mark). The claim is on the Monday of the ISO week (``week_of``): a run on any
day of the week sends each person at most one summary that week, however many
runs on however many servers.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import formats, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import digests, overview, roles, tallies
from crm.emails import absolute_url, build_message, language_of, subject_line
from crm.managers import Deadline
from crm.models import Commitment, DigestLog, FollowUp, Project
from crm.money import Totals, commitment_totals

KIND = DigestLog.Kind.WEEKLY
# The commitments' statuses the headline names (withdrawn and lapsed are on the overview).
HEADLINE_STATUSES = (
    Commitment.Status.ANNOUNCED,
    Commitment.Status.CONFIRMED,
    Commitment.Status.DELIVERED,
)


def week_of(day: date) -> date:
    """Return the Monday of ``day``'s ISO week: the day a weekly summary is claimed on."""
    return day - timedelta(days=day.weekday())


def wants_summary_q() -> Q:
    """Return the condition on a user of receiving the weekly summary.

    The person's own choice wins; without one (NULL, or no profile yet), the
    role decides: Coordination and superusers receive it, others do not.
    """
    by_role = Q(is_superuser=True) | Q(groups__name=roles.COORDINATION)
    return Q(crm_profile__weekly_summary=True) | (
        Q(crm_profile__weekly_summary__isnull=True) & by_role
    )


def recipients(*, username: str | None = None):
    """Return the active members of staff who receive the weekly summary, with their profile."""
    return digests.recipients(username=username).filter(wants_summary_q())


def receives_summary(user) -> bool:
    return recipients().filter(pk=user.pk).exists()


@dataclass
class ProjectWeek:
    """One project's lines of the summary."""

    project: Project
    funnel: dict[str, int]  # stage → partners now
    moves: dict[str, int]  # Move → partners that moved so in the week
    open: int
    overdue: int
    quiet: int

    @property
    def partners(self) -> int:
        return sum(self.funnel.values())

    @property
    def moved(self) -> int:
        return sum(self.moves.values())


@dataclass
class Figures:
    """What every recipient is told this week (built once per run)."""

    on: date
    projects: list[ProjectWeek]
    money: Totals

    @property
    def since(self) -> date:
        """Return the first day whose moves are counted."""
        return self.on - timedelta(days=overview.WEEK)

    @property
    def moved(self) -> int:
        return sum(row.moved for row in self.projects)

    @property
    def overdue(self) -> int:
        return sum(row.overdue for row in self.projects)

    @property
    def quiet(self) -> int:
        return sum(row.quiet for row in self.projects)

    @property
    def commitments(self) -> list:
        return [row for row in self.money.rows if row.status in HEADLINE_STATUSES]


def build(*, on: date) -> Figures:
    """Return the week's figures as of ``on``: nine queries, whatever the volume."""
    projects = list(Project.objects.order_by("name"))
    funnel = overview.funnel_counts()
    moves = overview.move_counts(today=on, windows=(overview.WEEK,))
    follow_ups = tallies.deadline_counts_by_project(today=on)
    quiet = overview.quiet_counts(today=on)
    no_moves = dict.fromkeys(overview.Move.ALL, 0)
    rows = [
        ProjectWeek(
            project=project,
            funnel={
                stage: funnel.get(project.pk, {}).get(stage, 0) for stage in overview.FUNNEL_STAGES
            },
            moves=moves.get(project.pk, {}).get(overview.WEEK, no_moves),
            open=follow_ups.get(project.pk, {}).get("open", 0),
            overdue=follow_ups.get(project.pk, {}).get(Deadline.OVERDUE, 0),
            quiet=quiet.get(project.pk, 0),
        )
        for project in projects
    ]
    return Figures(on=on, projects=rows, money=commitment_totals(Commitment.objects.all(), on=on))


@dataclass
class Summary:
    """One person's weekly summary: the week's figures, for them."""

    user: object
    week: date  # the Monday it is claimed on
    figures: Figures

    @property
    def is_empty(self) -> bool:
        # No project, nothing to summarise; otherwise a quiet week is news too.
        return not self.figures.projects

    @property
    def counts(self) -> dict[str, int]:
        """Return what the log row keeps of it (``DigestLog`` fields)."""
        return {"overdue": self.figures.overdue, "stale": self.figures.quiet}


# Writing the e-mail.


def subject(summary: Summary) -> str:
    """Return the subject, e.g. "[Compact CRM] Weekly summary, week of 12 January 2026: …"."""
    figures = summary.figures
    week = formats.date_format(summary.week, "DATE_FORMAT")
    moved = ngettext("%(count)d partner moved", "%(count)d partners moved", figures.moved) % {
        "count": figures.moved
    }
    overdue = ngettext(
        "%(count)d follow-up overdue", "%(count)d follow-ups overdue", figures.overdue
    ) % {"count": figures.overdue}
    return subject_line(
        _("Weekly summary, week of %(date)s: %(moved)s, %(overdue)s")
        % {"date": week, "moved": moved, "overdue": overdue}
    )


def _admin(model: str, **filters) -> str:
    return absolute_url(f"{reverse(f'admin:crm_{model}_changelist')}?{urlencode(filters)}")


def rows_for(summary: Summary) -> list[dict]:
    """Return each project's lines with the absolute link behind each figure (no query).

    The lists behind the figures are the admin's, as on the overview: for those
    who may open it; the others are sent to the project's page.
    """
    links = getattr(summary.user, "is_staff", False)
    open_statuses = ",".join(FollowUp.OPEN_STATUSES)
    rows = []
    for row in summary.figures.projects:
        pk = row.project.pk
        page = absolute_url(row.project.get_absolute_url())

        def link(model: str, value: int, **filters) -> str:
            if not value:
                return ""
            return _admin(model, **filters) if links else page  # noqa: B023

        rows.append(
            {
                "project": row.project,
                "url": page,
                "partners": row.partners,
                "funnel": [
                    (
                        stage.label,
                        row.funnel[stage],
                        link(
                            "partnership",
                            row.funnel[stage],
                            project__id__exact=pk,
                            stage__exact=stage,
                        ),
                    )
                    for stage in overview.FUNNEL_STAGES
                ],
                "moves": [
                    (
                        overview.Move.LABELS[move],
                        row.moves[move],
                        link(
                            "stagechange",
                            row.moves[move],
                            partnership__project__id__exact=pk,
                            move=move,
                            within=overview.WEEK,
                        ),
                    )
                    for move in overview.Move.ALL
                ],
                "open": row.open,
                "open_url": link(
                    "followup",
                    row.open,
                    project__id__exact=pk,
                    status__in=open_statuses,
                    is_demo__exact=0,
                ),
                "overdue": row.overdue,
                "overdue_url": link(
                    "followup",
                    row.overdue,
                    project__id__exact=pk,
                    deadline=Deadline.OVERDUE,
                    is_demo__exact=0,
                ),
                "quiet": row.quiet,
            }
        )
    return rows


def message(summary: Summary):
    """Return the summary as an e-mail (text and HTML) in the person's language."""
    with translation.override(language_of(summary.user)):
        return build_message(
            to=summary.user,
            subject=subject(summary),
            template="weekly_summary",
            context={
                "summary": summary,
                "figures": summary.figures,
                "rows": rows_for(summary),
                "week_days": overview.WEEK,
                "overview_url": absolute_url(reverse("overview")),
                "account_url": absolute_url(reverse("api-tokens") + "#weekly-summary"),
            },
        )


# One run.


def run(*, on: date, username: str | None = None, dry_run: bool = False) -> digests.Run:
    """Send this week's summaries that are not sent yet; never stop at one failure.

    Whatever the number of recipients and of records: the recipients, their
    logs, then the figures once (``build``), then per person only the claim,
    the mark and the e-mail.
    """
    week = week_of(on)
    users = list(recipients(username=username))
    logs = digests.logs_of(users, kind=KIND, on=week)
    figures = build(on=on) if users else None
    result = digests.Run(on=week, dry_run=dry_run)
    for user in users:
        result.outcomes.append(
            digests.deliver(
                user,
                kind=KIND,
                on=week,
                log=logs.get(user.pk),
                compose=lambda user=user: Summary(user=user, week=week, figures=figures),
                # Looked up at each call, so that tests may replace ``message``.
                write=lambda summary: message(summary),
                dry_run=dry_run,
            )
        )
    return result
