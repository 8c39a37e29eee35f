"""The mission scorecard: what followed a mission at D+30, D+60, D+90, D+180 and today.

Counted from the mission's last day. When the source gives the end only roughly
("late September 2023"), the last day of that period is taken, and the page says
so: the scorecard never credits a mission with what came before it surely ended.

Each figure is a conditional count in SQL, one column per day counted (five
``COUNT(… FILTER …)`` in one statement per kind of record), over the records of
the organisations met on the mission only: a fixed number of queries, whatever
the number of follow-ups. Demonstration records are left out of every figure;
the demonstration commitments and agreements are counted apart.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils.translation import gettext_lazy as _

from crm.models import (
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    DatePrecision,
    FollowUp,
    Interaction,
    InteractionOrganization,
    Mission,
    Partnership,
    StageChange,
)
from crm.money import rate_tables, round_xof
from crm.overview import day_start

HORIZONS = (30, 60, 90, 180)
Stage = Partnership.Stage
# "Moved beyond first contact": at a stage past "contacted" on the main path.
BEYOND_CONTACT = (Stage.EXPLORING, Stage.PROPOSAL, Stage.AGREEMENT, Stage.ACTIVE)
ENDED = (Commitment.Status.WITHDRAWN, Commitment.Status.LAPSED)


def counted_from(mission: Mission) -> date:
    """Return the day the scorecard counts from: the last day the mission may have ended."""
    end = mission.end_on
    precision = mission.date_precision
    if precision == DatePrecision.DAY:
        return end
    if precision == DatePrecision.YEAR:
        return date(end.year, 12, 31)
    if precision == DatePrecision.EARLY_MONTH:
        return end.replace(day=10)
    if precision == DatePrecision.MID_MONTH:
        return end.replace(day=20)
    # Late in the month, or the month only: its last day.
    return end.replace(day=calendar.monthrange(end.year, end.month)[1])


@dataclass
class Column:
    key: str  # "d30"… or "today"
    label: str
    day: date
    reached: bool  # False: that day is still ahead; its figures are today's so far.


@dataclass
class Scorecard:
    start: date
    counted_from: date
    columns: list[Column]
    met: int
    with_follow_up: dict[str, int]
    beyond_contact: dict[str, int]
    commitments: dict[str, int]
    commitments_xof: dict[str, Decimal]
    unconverted: dict[str, dict[str, Decimal]]
    agreements: dict[str, int]
    still_open: dict[str, int]
    # The end date is known only roughly: the page says which day it counts from.
    rough: bool = False
    demo_commitments: dict[str, int] = field(default_factory=dict)
    demo_agreements: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> list[tuple[str, dict[str, int]]]:
        return [
            ("with_follow_up", self.with_follow_up),
            ("beyond_contact", self.beyond_contact),
            ("commitments", self.commitments),
            ("agreements", self.agreements),
            ("still_open", self.still_open),
        ]


def build(mission: Mission, *, today: date) -> Scorecard:
    """Return the mission's scorecard as of ``today`` (six queries)."""
    start = day_start(mission.start_on)
    origin = counted_from(mission)
    columns = []
    for days in HORIZONS:
        day = origin + timedelta(days=days)
        columns.append(
            Column(f"d{days}", _("D+%(days)s") % {"days": days}, min(day, today), day <= today)
        )
    columns.append(Column("today", _("Today"), today, True))
    # The end of each day counted: records made before it count.
    ends = {c.key: day_start(c.day + timedelta(days=1)) for c in columns}

    met = InteractionOrganization.objects.filter(interaction__mission=mission).values(
        "organization"
    )
    met_count = met.order_by().distinct().count()

    def since_then(end) -> Q:
        return Q(created_at__gte=start, created_at__lt=end)

    # Partnerships of the organisations met: a follow-up opened, a move beyond contact.
    partnerships = Partnership.objects.filter(organization__in=met)
    follow_up = FollowUp.objects.filter(
        organization=OuterRef("organization_id"), project=OuterRef("project_id"), is_demo=False
    )
    moved = StageChange.objects.filter(
        partnership=OuterRef("pk"), to_stage__in=BEYOND_CONTACT, changed_at__gte=start
    )
    counts = partnerships.aggregate(
        **{
            f"f_{key}": Count("pk", filter=Exists(follow_up.filter(since_then(end))))
            for key, end in ends.items()
        },
        **{
            f"m_{key}": Count("pk", filter=Exists(moved.filter(changed_at__lt=end)))
            for key, end in ends.items()
        },
    )

    # Commitments of those partnerships recorded since the mission began, still
    # standing on the day counted, by currency.
    ended = CommitmentStatusChange.objects.filter(commitment=OuterRef("pk"), to_status__in=ENDED)
    standing = {
        key: since_then(end) & ~Q(Exists(ended.filter(changed_at__lt=end)))
        for key, end in ends.items()
    }
    sums = (
        Commitment.objects.filter(partnership__organization__in=met, created_at__gte=start)
        .order_by()
        .values("is_demo", "currency")
        .annotate(
            **{f"n_{key}": Count("pk", filter=q) for key, q in standing.items()},
            **{f"s_{key}": Sum("amount", filter=q) for key, q in standing.items()},
        )
    )
    # Real amounts at the real rates of today; demonstration ones are counted only.
    rates = rate_tables(today)[0]
    commitments = dict.fromkeys(ends, 0)
    demo_commitments = dict.fromkeys(ends, 0)
    xof = {key: Decimal(0) for key in ends}
    unconverted: dict[str, dict[str, Decimal]] = {key: {} for key in ends}
    for row in sums:
        for key in ends:
            if row["is_demo"]:
                demo_commitments[key] += row[f"n_{key}"]
                continue
            commitments[key] += row[f"n_{key}"]
            amount, currency = row[f"s_{key}"], row["currency"]
            if not amount:
                continue
            rate = rates.get(currency)
            if rate is None:
                unconverted[key][currency] = unconverted[key].get(currency, 0) + amount
            else:
                xof[key] += amount * rate.xof_per_unit

    # Agreements with an organisation met as a party, signed since the mission began.
    signed = AgreementStatusChange.objects.filter(
        agreement=OuterRef("pk"),
        to_status=Agreement.Status.SIGNED,
        changed_at__gte=start,
    )
    agreements = Agreement.objects.filter(
        Exists(AgreementParty.objects.filter(agreement=OuterRef("pk"), organization__in=met))
    ).aggregate(
        **{
            f"a_{key}": Count(
                "pk", filter=Q(is_demo=False) & Exists(signed.filter(changed_at__lt=end))
            )
            for key, end in ends.items()
        },
        **{
            f"d_{key}": Count(
                "pk", filter=Q(is_demo=True) & Exists(signed.filter(changed_at__lt=end))
            )
            for key, end in ends.items()
        },
    )

    # Follow-ups promised in the mission's meetings, still open on the day counted:
    # made by then, and neither done nor cancelled by then.
    cancelled = FollowUp.history.model.objects.filter(
        id=OuterRef("pk"), status=FollowUp.Status.CANCELLED
    )
    promised = FollowUp.objects.filter(
        interaction__in=Interaction.objects.filter(mission=mission), is_demo=False
    )
    still_open = promised.aggregate(
        **{
            key: Count(
                "pk",
                filter=Q(created_at__lt=end)
                & ~Q(status=FollowUp.Status.DONE, completed_at__lt=end)
                & ~Q(
                    Q(status=FollowUp.Status.CANCELLED)
                    & Exists(cancelled.filter(history_date__lt=end))
                ),
            )
            for key, end in ends.items()
        }
    )
    card = Scorecard(
        start=mission.start_on,
        counted_from=origin,
        columns=columns,
        met=met_count,
        with_follow_up={key: counts[f"f_{key}"] for key in ends},
        beyond_contact={key: counts[f"m_{key}"] for key in ends},
        commitments=commitments,
        commitments_xof={key: round_xof(value) for key, value in xof.items()},
        unconverted=unconverted,
        agreements={key: agreements[f"a_{key}"] for key in ends},
        still_open=still_open,
        rough=mission.date_precision != DatePrecision.DAY,
        demo_commitments=demo_commitments,
        demo_agreements={key: agreements[f"d_{key}"] for key in ends},
    )
    return card
