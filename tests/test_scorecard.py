"""The mission scorecard (issue 21): D+30, 60, 90, 180 and today, each figure a direct count."""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import scorecard
from crm.models import (
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    DatePrecision,
    FollowUp,
    Partnership,
    StageChange,
)
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

END = TODAY - timedelta(days=120)  # D+30, 60 and 90 are past; D+180 is ahead.
Stage = Partnership.Stage


def moment(day: date, hour: int = 11) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def after(days: int) -> datetime:
    return moment(END + timedelta(days=days))


def _created(record, when: datetime) -> None:
    type(record).objects.filter(pk=record.pk).update(created_at=when)


@pytest.fixture
def mission_world():
    mission = factories.MissionFactory(
        slug="usa", start_on=END - timedelta(days=6), end_on=END, date_precision=DatePrecision.DAY
    )
    a, b, c = (factories.OrganizationFactory() for _ in range(3))
    meeting = factories.InteractionFactory(
        mission=mission, organizations=[a, b], occurred_on=END - timedelta(days=2)
    )
    hub, pay = factories.ProjectFactory(code="hub"), factories.ProjectFactory(code="pay")
    a_hub = factories.PartnershipFactory(organization=a, project=hub)
    a_pay = factories.PartnershipFactory(organization=a, project=pay)
    b_hub = factories.PartnershipFactory(organization=b, project=hub)
    c_hub = factories.PartnershipFactory(organization=c, project=hub)  # not met
    # Follow-ups opened on the partnerships, at various days after the end.
    for partnership, days in [(a_hub, 10), (a_pay, 45), (b_hub, 100), (c_hub, 5)]:
        follow_up = factories.FollowUpFactory(
            organization=partnership.organization, project=partnership.project, due_on=TODAY
        )
        _created(follow_up, after(days))
    demo = factories.FollowUpFactory(organization=b, project=pay, is_demo=True)
    _created(demo, after(3))
    # Stage moves: beyond first contact at D+20 and D+70; a move before the mission
    # does not count; one to "on hold" is not beyond contact.
    for partnership, days, to_stage in [
        (a_hub, 20, Stage.EXPLORING),
        (b_hub, 70, Stage.PROPOSAL),
        (a_pay, -400, Stage.EXPLORING),
        (a_pay, 15, Stage.ON_HOLD),
        (c_hub, 10, Stage.EXPLORING),
    ]:
        factories.StageChangeFactory(
            partnership=partnership, from_stage=Stage.CONTACTED, to_stage=to_stage,
            changed_at=after(days),
        )  # fmt: skip
    # Commitments: recorded at D+25 and D+80, one withdrawn at D+50; one before the
    # mission; one by an organisation not met; one demonstration.
    factories.ExchangeRateFactory(currency="USD", rate_on=TODAY - timedelta(days=3))
    for partnership, days, amount, currency, demo_flag in [
        (a_hub, 25, "1000000", "XOF", False),
        (b_hub, 80, "2000", "USD", False),
        (a_pay, 28, "500", "EUR", False),
        (a_hub, -30, "7", "XOF", False),
        (c_hub, 20, "9", "XOF", False),
        (a_hub, 5, "3", "XOF", True),
    ]:
        commitment = factories.CommitmentFactory(
            partnership=partnership, amount=Decimal(amount), currency=currency, is_demo=demo_flag
        )
        _created(commitment, after(days))
    withdrawn = Commitment.objects.get(currency="EUR")
    Commitment.objects.filter(pk=withdrawn.pk).update(status=Commitment.Status.WITHDRAWN)
    CommitmentStatusChange.objects.create(
        commitment=withdrawn, from_status="announced", to_status="withdrawn", changed_at=after(50)
    )
    # Agreements with an organisation met, signed at D+40 and D+150 (ahead); demo one.
    for days, demo_flag in [(40, False), (110, False), (30, True)]:
        agreement = factories.AgreementFactory(status=Agreement.Status.SIGNED, is_demo=demo_flag)
        AgreementParty.objects.create(agreement=agreement, organization=a)
        AgreementStatusChange.objects.create(
            agreement=agreement, from_status="under_review", to_status="signed",
            changed_at=after(days),
        )  # fmt: skip
    # Follow-ups promised in the meeting: done at D+35, cancelled at D+65, still open.
    done, cancelled, still = (
        factories.FollowUpFactory(interaction=meeting, organization=a, project=hub, due_on=END)
        for _ in range(3)
    )
    cancelled.status = FollowUp.Status.CANCELLED
    cancelled.save()
    FollowUp.history.filter(id=cancelled.pk, status="cancelled").update(history_date=after(65))
    for follow_up in (done, cancelled, still):
        _created(follow_up, moment(END - timedelta(days=2)))
    FollowUp.objects.filter(pk=done.pk).update(
        status="done", completed_at=after(35), completion_note="Sent"
    )
    return mission


def direct(mission, day: date) -> dict:
    """Count each figure row by row, in Python, as of the end of ``day``."""
    end = moment(day + timedelta(days=1), 0)
    start = moment(mission.start_on, 0)
    met = {o.pk for i in mission.interactions.all() for o in i.organizations.all()}
    partnerships = [p for p in Partnership.objects.all() if p.organization_id in met]
    follow_ups = [f for f in FollowUp.objects.all() if not f.is_demo]
    with_follow_up = sum(
        1
        for p in partnerships
        if any(
            f.organization_id == p.organization_id
            and f.project_id == p.project_id
            and start <= f.created_at < end
            for f in follow_ups
        )
    )
    beyond = sum(
        1
        for p in partnerships
        if any(
            c.to_stage in scorecard.BEYOND_CONTACT and start <= c.changed_at < end
            for c in StageChange.objects.filter(partnership=p)
        )
    )
    standing = [
        c
        for c in Commitment.objects.filter(is_demo=False)
        if c.partnership.organization_id in met
        and start <= c.created_at < end
        and not any(
            s.to_status in scorecard.ENDED and s.changed_at < end for s in c.status_changes.all()
        )
    ]
    rates = {"XOF": Decimal(1), "EUR": Decimal("655.957"), "USD": Decimal("600")}
    value = sum((c.amount * rates[c.currency] for c in standing), Decimal(0))
    signed = sum(
        1
        for a in Agreement.objects.filter(is_demo=False)
        if any(p.organization_id in met for p in a.parties.all())
        and any(
            s.to_status == "signed" and start <= s.changed_at < end for s in a.status_changes.all()
        )
    )
    still_open = 0
    for f in follow_ups:
        if f.interaction is None or f.interaction.mission_id != mission.pk:
            continue
        if f.created_at >= end:
            continue
        if f.status == "done" and f.completed_at < end:
            continue
        cancelled_at = [h.history_date for h in f.history.all() if h.status == "cancelled"]
        if f.status == "cancelled" and cancelled_at and min(cancelled_at) < end:
            continue
        still_open += 1
    return {
        "met": len(met),
        "with_follow_up": with_follow_up,
        "beyond_contact": beyond,
        "commitments": len(standing),
        "xof": value.quantize(Decimal(1), rounding=ROUND_HALF_UP),
        "agreements": signed,
        "still_open": still_open,
    }


def test_every_figure_equals_a_direct_count_on_each_day(mission_world):
    card = scorecard.build(mission_world, today=TODAY)
    assert card.counted_from == END and not card.rough
    assert [c.key for c in card.columns] == ["d30", "d60", "d90", "d180", "today"]
    assert [c.reached for c in card.columns] == [True, True, True, False, True]
    for column in card.columns:
        expected = direct(mission_world, column.day)
        got = {
            "met": card.met,
            "with_follow_up": card.with_follow_up[column.key],
            "beyond_contact": card.beyond_contact[column.key],
            "commitments": card.commitments[column.key],
            "xof": card.commitments_xof[column.key],
            "agreements": card.agreements[column.key],
            "still_open": card.still_open[column.key],
        }
        assert got == expected, column.key
    # Spelled out, as a coordinator would read them.
    assert card.with_follow_up == {"d30": 1, "d60": 2, "d90": 2, "d180": 3, "today": 3}
    assert card.beyond_contact == {"d30": 1, "d60": 1, "d90": 2, "d180": 2, "today": 2}
    assert card.commitments == {"d30": 2, "d60": 1, "d90": 2, "d180": 2, "today": 2}
    assert card.agreements == {"d30": 0, "d60": 1, "d90": 1, "d180": 2, "today": 2}
    assert card.still_open == {"d30": 3, "d60": 2, "d90": 1, "d180": 1, "today": 1}
    assert card.demo_commitments["today"] == 1 and card.demo_agreements["today"] == 1


def test_a_rough_end_counts_from_the_last_day_of_its_period():
    late_september = factories.MissionFactory.build(
        start_on=date(2023, 9, 1), end_on=date(2023, 9, 30), date_precision="late_month"
    )
    assert scorecard.counted_from(late_september) == date(2023, 9, 30)
    stored_first = factories.MissionFactory.build(
        start_on=date(2023, 9, 1), end_on=date(2023, 9, 1), date_precision="late_month"
    )
    assert scorecard.counted_from(stored_first) == date(2023, 9, 30)
    mid = factories.MissionFactory.build(
        start_on=date(2024, 2, 1), end_on=date(2024, 2, 1), date_precision="mid_month"
    )
    assert scorecard.counted_from(mid) == date(2024, 2, 20)
    year = factories.MissionFactory.build(
        start_on=date(2024, 1, 1), end_on=date(2024, 1, 1), date_precision="year"
    )
    assert scorecard.counted_from(year) == date(2024, 12, 31)


def test_the_mission_page_shows_the_scorecard_and_says_which_day_it_counts_from(
    mission_world, client, coordinator
):
    from crm.models import Mission

    Mission.objects.filter(pk=mission_world.pk).update(date_precision="late_month")
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/missions/usa/")
    html = response.content.decode()
    assert response.status_code == 200
    card = response.context["scorecard"]["card"]
    assert card.rough and card.counted_from.day in (30, 31)
    assert 'id="scorecard-title"' in html and "D+180" in html
    assert card.counted_from.strftime("%Y") in html
    assert "/admin/crm/followup/?mission=usa" in html
    # The link lists what today's figure counts.
    listed = client.get("/admin/crm/followup/", {"mission": "usa", "status__in": "open"})
    assert listed.context["cl"].result_count == card.still_open["today"]


def test_the_scorecard_costs_the_same_number_of_queries_at_any_volume(
    mission_world, client, coordinator, django_assert_num_queries
):
    client.force_login(coordinator)
    client.get("/missions/usa/")
    with CaptureQueriesContext(connection) as captured:
        client.get("/missions/usa/")
    partnership = Partnership.objects.filter(organization__interactions__mission=mission_world)[0]
    meeting = mission_world.interactions.first()
    for n in range(30):
        factories.FollowUpFactory(
            organization=partnership.organization, project=partnership.project,
            interaction=meeting if n % 2 else None, due_on=TODAY,
        )  # fmt: skip
        factories.CommitmentFactory(partnership=partnership)
    with django_assert_num_queries(len(captured)):
        client.get("/missions/usa/")
