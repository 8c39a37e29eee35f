"""The overview's figures: where every project's partnerships stand, what moved, what is late.

Everything here is an aggregate: counts grouped in SQL (partnerships by project and
stage, the stage moves of the last 90 days, the stage history by month), the kept
totals of open follow-ups (``crm.tallies``), the commitments' sums
(``crm.money``), and short lists cut at ``LIST_LIMIT`` rows. No figure reads
every follow-up, and the number of queries does not grow with the data
(tests/test_overview.py counts them).

Demonstration records are never in a real figure: follow-ups through
``crm.tallies``, commitments and agreements by their ``is_demo`` flag, shown
apart and labelled.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import tallies
from crm.managers import Deadline
from crm.models import (
    Agreement,
    Commitment,
    FollowUp,
    Interaction,
    Partnership,
    Project,
    StageChange,
)
from crm.money import Totals, commitment_totals, commitment_totals_by_project

Stage = Partnership.Stage

# The main path, in order; a move along it is forward or back.
MAIN_PATH = [
    Stage.IDENTIFIED,
    Stage.CONTACTED,
    Stage.EXPLORING,
    Stage.PROPOSAL,
    Stage.AGREEMENT,
    Stage.ACTIVE,
]
# The funnel's rows: the main path, then the two stages off it.
FUNNEL_STAGES = [*MAIN_PATH, Stage.ON_HOLD, Stage.CLOSED]
# The windows of "what moved", in days.
WINDOWS = (30, 90)
# The weekly summary's window (crm.weekly); its links open the moves of that week.
WEEK = 7
LINKED_WINDOWS = (WEEK, *WINDOWS)
# How far ahead the agreements' expiries and awaited signatures are looked for.
AGREEMENT_DAYS = 90
# How far ahead "the next days" looks.
AHEAD_DAYS = 14
# Rows per list; the rest is one link away.
LIST_LIMIT = 10
AWAITED_STATUSES = (Agreement.Status.DRAFT, Agreement.Status.UNDER_REVIEW)


class Move:
    """The kinds of stage moves the overview counts; every move is exactly one."""

    NEW = "new"
    FORWARD = "forward"
    BACK = "back"
    WITHDRAWN = "withdrawn"
    ALL = (NEW, FORWARD, BACK, WITHDRAWN)
    LABELS = {
        NEW: _("New partners"),
        FORWARD: _("Moved forward"),
        BACK: _("Moved back"),
        WITHDRAWN: _("Withdrawn"),
    }


def move_q(move: str, prefix: str = "") -> Q:
    """Return the condition on a ``StageChange`` of one ``Move``.

    New: the first row (from nowhere). Withdrawn: to "closed". Back: to "on
    hold", or to an earlier stage of the main path. Forward: to a later stage of
    the main path, or back onto it from "on hold" or "closed" (resumed).
    """

    def q(**lookups) -> Q:
        return Q(**{prefix + name: value for name, value in lookups.items()})

    started = ~q(from_stage="")
    if move == Move.NEW:
        return q(from_stage="")
    if move == Move.WITHDRAWN:
        return started & q(to_stage=Stage.CLOSED)
    if move == Move.BACK:
        earlier = Q()
        for rank, stage in enumerate(MAIN_PATH):
            earlier |= q(to_stage=stage, from_stage__in=MAIN_PATH[rank + 1 :])
        return started & (q(to_stage=Stage.ON_HOLD) | earlier)
    if move == Move.FORWARD:
        later = q(from_stage__in=[Stage.ON_HOLD, Stage.CLOSED])
        for rank, stage in enumerate(MAIN_PATH):
            later |= q(to_stage=stage, from_stage__in=MAIN_PATH[:rank])
        return q(to_stage__in=MAIN_PATH) & later
    raise ValueError(f"Unknown move {move!r}")


def classify_move(from_stage: str, to_stage: str) -> str:
    """Return the ``Move`` of one change read into Python: ``move_q`` in plain code."""
    if not from_stage:
        return Move.NEW
    if to_stage == Stage.CLOSED:
        return Move.WITHDRAWN
    if to_stage == Stage.ON_HOLD:
        return Move.BACK
    if from_stage in (Stage.ON_HOLD, Stage.CLOSED):
        return Move.FORWARD
    return Move.FORWARD if MAIN_PATH.index(to_stage) > MAIN_PATH.index(from_stage) else Move.BACK


def day_start(day: date) -> datetime:
    """Return the first instant of ``day`` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def moves_since(today: date, days: int) -> datetime:
    """Return the first instant counted in "the last ``days`` days" seen from ``today``."""
    return day_start(today - timedelta(days=days))


@dataclass
class ProjectFigures:
    """One project's row of the overview."""

    project: Project
    funnel: dict[str, int]
    moves: dict[int, dict[str, int]]  # window → move → partners
    money: Totals
    agreements: dict[str, int]  # status → real agreements
    demo_agreements: int
    follow_ups: dict[str, int]  # tallies' real figures: open, overdue…
    demo_open: int
    quiet: int

    @property
    def partners(self) -> int:
        return sum(self.funnel.values())

    @property
    def funnel_max(self) -> int:
        return max(self.funnel.values(), default=0) or 1


@dataclass
class OwnerFigures:
    owner: Any  # a user, or None for nobody
    open: int
    overdue: int


@dataclass
class Overview:
    today: date
    projects: list[ProjectFigures]
    money: Totals  # all projects together
    owners: list[OwnerFigures]
    oldest_overdue: list[FollowUp]
    quiet: list[Partnership]
    quiet_total: int
    expiring: list[Agreement]
    awaited: list[Agreement]
    meetings: list[Interaction]
    deadlines: list[FollowUp]
    deadlines_total: int
    history: dict[int, "PipelineHistory"] = field(default_factory=dict)

    @property
    def overdue_total(self) -> int:
        return sum(p.follow_ups.get(Deadline.OVERDUE, 0) for p in self.projects)


def funnel_counts() -> dict[int, dict[str, int]]:
    """Return, per project id, its partnerships per stage now (one query)."""
    counts: dict[int, dict[str, int]] = {}
    rows = Partnership.objects.order_by().values_list("project", "stage").annotate(n=Count("pk"))
    for project, stage, n in rows:
        counts.setdefault(project, {})[stage] = n
    return counts


def move_counts(
    *, today: date, windows: tuple[int, ...] = WINDOWS
) -> dict[int, dict[int, dict[str, int]]]:
    """Return, per project id, per window, per ``Move``: the partnerships that moved so.

    A partnership that moved forward twice counts once. One query over the
    moves of the last ``max(windows)`` days (crm_stagechange_date_idx).
    """
    counts = {
        f"{move}_{days}": Count(
            "partnership",
            distinct=True,
            filter=move_q(move) & Q(changed_at__gte=moves_since(today, days)),
        )
        for move in Move.ALL
        for days in windows
    }
    rows = (
        StageChange.objects.filter(changed_at__gte=moves_since(today, max(windows)))
        .order_by()
        .values("partnership__project")
        .annotate(**counts)
    )
    return {
        row["partnership__project"]: {
            days: {move: row[f"{move}_{days}"] for move in Move.ALL} for days in windows
        }
        for row in rows
    }


def agreement_counts() -> dict[int, dict[str, int]]:
    """Return, per project id, its agreements per status; demonstration ones under "demo"."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Agreement.objects.filter(projects__isnull=False)
        .order_by()
        .values_list("projects", "status", "is_demo")
        .annotate(n=Count("pk", distinct=True))
    )
    for project, status, is_demo, n in rows:
        key = "demo" if is_demo else status
        row = counts.setdefault(project, {})
        row[key] = row.get(key, 0) + n
    return counts


def quiet_counts(*, today: date) -> dict[int, int]:
    rows = (
        Partnership.objects.gone_quiet(today=today)
        .order_by()
        .values_list("project")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def owner_counts(*, today: date) -> list[OwnerFigures]:
    """Return the owners of open real follow-ups, the most overdue first (two queries)."""
    counts = tallies.deadline_counts_by_assignee(today=today)
    users = get_user_model().objects.in_bulk([key for key in counts if key])
    owners = [
        OwnerFigures(users.get(key), row.get("open", 0), row.get(Deadline.OVERDUE, 0))
        for key, row in counts.items()
        if row.get("open", 0) and (not key or key in users)
    ]
    return sorted(owners, key=lambda o: (-o.overdue, -o.open, str(o.owner or "")))


def build(*, today: date) -> Overview:
    """Return every figure of the overview as of ``today``, in a fixed number of queries."""
    projects = list(Project.objects.select_related("programme").order_by("name"))
    funnel = funnel_counts()
    moves = move_counts(today=today)
    money = commitment_totals_by_project(
        Commitment.objects.all(), on=today, projects=[project.pk for project in projects]
    )
    agreements = agreement_counts()
    follow_ups = tallies.deadline_counts_by_project(today=today)
    demo_follow_ups = tallies.demo_counts_by_project(today=today)
    quiet = quiet_counts(today=today)
    no_moves = {days: dict.fromkeys(Move.ALL, 0) for days in WINDOWS}
    rows = []
    for project in projects:
        by_status = agreements.get(project.pk, {})
        rows.append(
            ProjectFigures(
                project=project,
                funnel={
                    stage: funnel.get(project.pk, {}).get(stage, 0) for stage in FUNNEL_STAGES
                },
                moves=moves.get(project.pk, no_moves),
                money=money[project.pk],
                agreements={s: by_status.get(s, 0) for s in Agreement.Status.values},
                demo_agreements=by_status.get("demo", 0),
                follow_ups=follow_ups.get(project.pk, {}),
                demo_open=demo_follow_ups.get(project.pk, {}).get("open", 0),
                quiet=quiet.get(project.pk, 0),
            )
        )
    quiet_list = Partnership.objects.gone_quiet(today=today).select_related(
        "organization", "project", "owner"
    )
    soon = today + timedelta(days=AHEAD_DAYS)
    deadlines = FollowUp.objects.open().filter(is_demo=False, due_on__gte=today, due_on__lte=soon)
    real_agreements = Agreement.objects.filter(is_demo=False).prefetch_related("projects")
    return Overview(
        today=today,
        projects=rows,
        money=commitment_totals(Commitment.objects.all(), on=today),
        owners=owner_counts(today=today),
        oldest_overdue=list(
            FollowUp.objects.overdue(today=today)
            .filter(is_demo=False)
            .select_related("project", "organization", "assignee")
            .order_by("due_on", "id")[:LIST_LIMIT]
        ),
        quiet=list(quiet_list[:LIST_LIMIT]),
        quiet_total=sum(quiet.values()),
        expiring=list(
            real_agreements.ending_within(AGREEMENT_DAYS, today=today).order_by(
                "expires_on", "id"
            )[:LIST_LIMIT]
        ),
        awaited=list(
            real_agreements.filter(
                status__in=AWAITED_STATUSES,
                effective_on__gte=today,
                effective_on__lte=today + timedelta(days=AGREEMENT_DAYS),
            ).order_by("effective_on", "id")[:LIST_LIMIT]
        ),
        meetings=list(
            Interaction.objects.filter(
                occurred_on__gte=today, occurred_on__lte=soon, cancelled_at__isnull=True
            )
            .prefetch_related("organizations")
            .order_by("occurred_on", "id")[:LIST_LIMIT]
        ),
        deadlines=list(
            deadlines.select_related("project", "organization", "assignee").order_by(
                "due_on", "id"
            )[:LIST_LIMIT]
        ),
        deadlines_total=deadlines.count(),
        history=pipeline_history(today=today),
    )


# The pipeline over time.


@dataclass
class PipelineHistory:
    """One project's partners per stage at each month's end, oldest month first."""

    months: list[date]  # the first day of each month
    counts: list[dict[str, int]]  # per month: stage → partners at the month's end

    @property
    def rows(self) -> list[tuple[date, list[int]]]:
        return [
            (month, [row.get(stage, 0) for stage in FUNNEL_STAGES])
            for month, row in zip(self.months, self.counts, strict=True)
        ]


def _month(value) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def history_deltas() -> dict[int, dict[date, dict[str, int]]]:
    """Return, per project id, per month, the net change of partners at each stage.

    Two GROUP BY queries: the stage moves by month (each leaves its from stage
    and reaches its to stage), and the partnerships with no move on record (loaded
    from a fixture, say), counted at their stage from the month they were recorded.
    """
    deltas: dict[int, dict[date, dict[str, int]]] = {}

    def add(project: int, month, stage: str, n: int) -> None:
        row = deltas.setdefault(project, {}).setdefault(_month(month), {})
        row[stage] = row.get(stage, 0) + n

    moves = (
        StageChange.objects.annotate(month=TruncMonth("changed_at"))
        .order_by()
        .values_list("partnership__project", "month", "from_stage", "to_stage")
        .annotate(n=Count("pk"))
    )
    for project, month, from_stage, to_stage, n in moves:
        if from_stage:
            add(project, month, from_stage, -n)
        add(project, month, to_stage, n)
    unlogged = (
        Partnership.objects.filter(~Exists(StageChange.objects.filter(partnership=OuterRef("pk"))))
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values_list("project", "month", "stage")
        .annotate(n=Count("pk"))
    )
    for project, month, stage, n in unlogged:
        add(project, month, stage, n)
    return deltas


def pipeline_history(*, today: date) -> dict[int, PipelineHistory]:
    """Return, per project id, its partners per stage at each month's end, up to this month."""
    last = today.replace(day=1)
    histories = {}
    for project, by_month in history_deltas().items():
        month = min(by_month)
        running: dict[str, int] = {}
        months, counts = [], []
        while month <= last:
            for stage, n in by_month.get(month, {}).items():
                running[stage] = running.get(stage, 0) + n
            months.append(month)
            counts.append(dict(running))
            month = _next_month(month)
        histories[project] = PipelineHistory(months, counts)
    return histories


# The chart: stacked bars, one per month, drawn on the server.

STAGE_COLOURS = {
    Stage.IDENTIFIED: "#c9d6e3",
    Stage.CONTACTED: "#9fb8d0",
    Stage.EXPLORING: "#6f97bd",
    Stage.PROPOSAL: "#3f76a8",
    Stage.AGREEMENT: "#1f5a8c",
    Stage.ACTIVE: "#0b3d66",
    Stage.ON_HOLD: "#e0b050",
    Stage.CLOSED: "#9a9a9a",
}


def history_chart(history: PipelineHistory) -> dict[str, Any]:
    """Return the bars of a pipeline-over-time chart (no query)."""
    height, top, bottom, left = 160, 8, 24, 28
    total = max((sum(row.values()) for row in history.counts), default=0) or 1
    step = max(6, min(24, 560 // max(len(history.months), 1)))
    bar = max(step - 2, 4)
    scale = (height - top - bottom) / total
    columns = []
    for index, (month, row) in enumerate(zip(history.months, history.counts, strict=True)):
        x = left + index * step
        y = height - bottom
        segments = []
        for stage in FUNNEL_STAGES:
            n = row.get(stage, 0)
            if n <= 0:
                continue
            h = n * scale
            y -= h
            segments.append(
                {
                    "stage": stage,
                    "n": n,
                    "y": round(y, 1),
                    "h": round(h, 1),
                    "colour": STAGE_COLOURS[stage],
                }
            )
        columns.append(
            {
                "month": month,
                "x": x,
                "segments": segments,
                # A month label every so often, so that they never overlap.
                "label": index % max(1, 48 // step) == 0,
            }
        )
    return {
        "width": left + len(columns) * step + 8,
        "height": height,
        "bar": bar,
        "base": height - bottom,
        "label_y": height - 8,
        "top": top,
        "total": total,
        "left": left,
        "columns": columns,
        "legend": [(stage, stage.label, STAGE_COLOURS[stage]) for stage in FUNNEL_STAGES],
    }
