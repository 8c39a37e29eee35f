"""The weekly summary (issue 21, point 4): to whom, what it says, once a week, never lost."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from crm import overview, weekly
from crm.models import Commitment, DigestLog, FollowUp, Partnership, StaffProfile, StageChange
from crm.overview import FUNNEL_STAGES, Move, classify_move
from tests import factories
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

BASE_URL = "https://crm.example.org"
Stage = Partnership.Stage
# TODAY (Thursday 15 January 2026) is in the ISO week that starts on Monday the 12th.
MONDAY = date(2026, 1, 12)


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.CRM_BASE_URL = BASE_URL


@pytest.fixture
def french():
    """Add this branch's French (fr_strings.py, until merged into crm/locale) to the catalog.

    Once merged, fr_strings.py is gone and the compiled catalog has the same
    strings: the fixture then adds nothing.
    """
    try:
        from fr_strings import T
    except ImportError:
        yield
        return
    catalog = translation.trans_real.translation("fr")._catalog._catalogs[0]
    added = {}
    for msgid, text in T.items():
        if isinstance(msgid, tuple):
            added[(msgid[0], 0)], added[(msgid[0], 1)] = text
        else:
            added[msgid] = text
    added = {key: value for key, value in added.items() if key not in catalog}
    catalog.update(added)
    yield
    for key in added:
        del catalog[key]


def send(*args: str, on: date = TODAY, **options) -> str:
    out = options.pop("stdout", StringIO())
    call_command(
        "send_digests", "--weekly", "--date", on.isoformat(), *args, stdout=out, **options
    )
    return out.getvalue()


def at(days_ago: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(TODAY - timedelta(days=days_ago), time(hour)))


def _history(partnership, *steps) -> None:
    """Log ``(days_ago, from, to)`` moves and leave the partnership at the last stage."""
    for days_ago, from_stage, to_stage in steps:
        factories.StageChangeFactory(
            partnership=partnership,
            from_stage=from_stage,
            to_stage=to_stage,
            changed_at=at(days_ago),
        )
    Partnership.objects.filter(pk=partnership.pk).update(stage=steps[-1][2])


@pytest.fixture
def chief(coordinator):
    coordinator.first_name, coordinator.last_name = "Awa", "Chef"
    coordinator.email = "awa.chef@example.org"
    coordinator.save()
    return coordinator


@pytest.fixture
def amavi(staff_user):
    staff_user.email = "ama.vi@example.org"
    staff_user.save()
    return staff_user


@pytest.fixture
def week(chief, amavi):
    """Two projects; moves in the week and before it; real and demonstration records."""
    pay = factories.ProjectFactory(code="pay", name="Digital payments")
    hub = factories.ProjectFactory(code="hub", name="Innovation hub")
    p = [factories.PartnershipFactory(project=pay if n < 4 else hub) for n in range(6)]
    _history(p[0], (3, "", Stage.IDENTIFIED))  # new this week
    _history(p[1], (60, "", Stage.CONTACTED), (2, Stage.CONTACTED, Stage.PROPOSAL))  # forward
    _history(p[2], (40, "", Stage.EXPLORING), (6, Stage.EXPLORING, Stage.CONTACTED))  # back
    _history(p[3], (90, "", Stage.CONTACTED), (8, Stage.CONTACTED, Stage.CLOSED))  # last week
    _history(p[4], (20, "", Stage.EXPLORING), (1, Stage.EXPLORING, Stage.CLOSED))  # withdrawn
    # p[5]: no history at all (loaded as from a fixture).
    for days, project, is_demo in [
        (-3, pay, False),
        (-10, pay, False),
        (4, pay, False),
        (-2, hub, False),
        (-5, hub, True),
        (-6, pay, True),
    ]:
        factories.FollowUpFactory(
            project=project, due_on=TODAY + timedelta(days=days), is_demo=is_demo, assignee=amavi
        )
    factories.CommitmentFactory(partnership=p[1], amount=Decimal("5000000"), currency="XOF")
    confirmed = factories.CommitmentFactory(
        partnership=p[4], amount=Decimal("2000000"), currency="XOF"
    )
    Commitment.objects.filter(pk=confirmed.pk).update(status=Commitment.Status.CONFIRMED)
    factories.CommitmentFactory(partnership=p[0], amount=Decimal("999999"), is_demo=True)
    return {"pay": pay, "hub": hub, "partnerships": p}


# To whom.


def test_coordination_gets_it_by_default_and_staff_do_not(chief, amavi):
    assert list(weekly.recipients()) == [chief]
    assert weekly.receives_summary(chief)
    assert not weekly.receives_summary(amavi)


def test_anyone_may_ask_for_it_and_coordination_may_decline(chief, amavi, reader):
    StaffProfile.objects.create(user=amavi, weekly_summary=True)
    StaffProfile.objects.create(user=chief, weekly_summary=False)
    StaffProfile.objects.create(user=reader, weekly_summary=True)  # not a member of staff

    assert list(weekly.recipients()) == [amavi]


def test_a_profile_without_a_choice_follows_the_role(chief, amavi):
    StaffProfile.objects.create(user=chief)
    StaffProfile.objects.create(user=amavi)

    assert list(weekly.recipients()) == [chief]


def test_the_declined_summary_is_not_sent(week, chief, mailoutbox):
    StaffProfile.objects.create(user=chief, weekly_summary=False)

    out = send()

    assert mailoutbox == []
    assert "sent 0, skipped 0, failed 0" in out


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_the_account_page_shows_and_saves_the_choice(client, amavi):
    client.force_login(amavi)
    _english(client)

    page = client.get("/account/tokens/")
    assert "You do not receive it." in page.content.decode()

    response = client.post("/account/weekly-summary/", {"weekly_summary": "yes"}, follow=True)
    assert StaffProfile.objects.get(user=amavi).weekly_summary is True
    assert "You will receive the weekly summary by e-mail." in response.content.decode()
    assert "You receive it." in response.content.decode()

    client.post("/account/weekly-summary/", {"weekly_summary": "no"})
    assert StaffProfile.objects.get(user=amavi).weekly_summary is False
    client.post("/account/weekly-summary/", {"weekly_summary": ""})
    assert StaffProfile.objects.get(user=amavi).weekly_summary is None


def test_the_choice_is_the_persons_own(client, amavi, chief):
    client.force_login(amavi)
    client.post("/account/weekly-summary/", {"weekly_summary": "no", "user": chief.pk})

    assert not StaffProfile.objects.filter(user=chief).exists()
    assert StaffProfile.objects.get(user=amavi).weekly_summary is False


# What it says.


def test_every_figure_equals_a_direct_count(week):
    figures = weekly.build(on=TODAY)
    since = overview.moves_since(TODAY, overview.WEEK)
    changes = list(StageChange.objects.select_related("partnership"))
    partnerships = list(Partnership.objects.all())
    real = [f for f in FollowUp.objects.all() if not f.is_demo and f.is_open]

    assert [row.project.code for row in figures.projects] == ["pay", "hub"]
    for row in figures.projects:
        project = row.project
        assert row.funnel == {
            stage: sum(1 for p in partnerships if p.project_id == project.pk and p.stage == stage)
            for stage in FUNNEL_STAGES
        }
        for move in Move.ALL:
            moved = {
                c.partnership_id
                for c in changes
                if c.partnership.project_id == project.pk
                and c.changed_at >= since
                and classify_move(c.from_stage, c.to_stage) == move
            }
            assert row.moves[move] == len(moved), (project.code, move)
        theirs = [f for f in real if f.project_id == project.pk]
        assert row.open == len(theirs)
        assert row.overdue == sum(1 for f in theirs if f.due_on < TODAY)
        assert (
            row.quiet
            == Partnership.objects.gone_quiet(today=TODAY).filter(project=project).count()
        )
    for total in figures.commitments:
        assert total.count == Commitment.objects.filter(status=total.status, is_demo=False).count()

    # What the data set makes of it, spelled out: last week's withdrawal is not
    # this week's news, and the demonstration records are nowhere.
    pay, hub = figures.projects
    assert pay.moves == {Move.NEW: 1, Move.FORWARD: 1, Move.BACK: 1, Move.WITHDRAWN: 0}
    assert hub.moves == {Move.NEW: 0, Move.FORWARD: 0, Move.BACK: 0, Move.WITHDRAWN: 1}
    assert (pay.overdue, hub.overdue, figures.overdue) == (2, 1, 3)
    assert figures.moved == 4
    assert [(row.status, row.count, row.xof) for row in figures.commitments] == [
        ("announced", 1, Decimal("5000000")),
        ("confirmed", 1, Decimal("2000000")),
        ("delivered", 0, Decimal("0")),
    ]


def test_the_summary_speaks_french_by_default_with_absolute_links(week, chief, mailoutbox, french):
    send()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    assert message.to == ["awa.chef@example.org"]
    assert message.subject == (
        "[CRM Compact] Synthèse hebdomadaire, semaine du 12 janvier 2026 : "
        "4 partenaires en mouvement, 3 suivis en retard"
    )
    pay = week["pay"]
    for part in (message.body, html):
        assert "Bonjour Awa Chef," in part
        assert "Digital payments" in part and "Innovation hub" in part
        assert f"{BASE_URL}/overview/" in part
        assert f"{BASE_URL}{pay.get_absolute_url()}" in part
        assert f"{BASE_URL}/account/tokens/#weekly-summary" in part
        assert "Nouveaux partenaires" in part
    # Coordination opens the lists behind the figures in the admin.
    assert (
        f"{BASE_URL}/admin/crm/stagechange/?partnership__project__id__exact={pay.pk}"
        "&amp;move=new&amp;within=7"
    ) in html
    assert f"partnership__project__id__exact={pay.pk}&move=new&within=7" in message.body


def test_the_summary_speaks_english_to_who_chose_english(week, chief, mailoutbox):
    StaffProfile.objects.create(user=chief, language="en")

    send()

    message = mailoutbox[0]
    assert message.subject == (
        "[Compact CRM] Weekly summary, week of 12 Jan 2026: 4 partners moved, 3 follow-ups overdue"
    )
    assert "Hello Awa Chef," in message.body
    assert "Moved forward 1" in message.body


def test_who_may_not_open_the_admin_is_sent_to_the_project_s_page(week, amavi, mailoutbox):
    amavi.is_staff = False
    amavi.save()
    StaffProfile.objects.create(user=amavi, weekly_summary=True, language="en")

    send("--user", amavi.username)

    (message,) = mailoutbox
    html = message.alternatives[0][0]
    assert "/admin/" not in message.body and "/admin/" not in html
    assert f'<a href="{BASE_URL}{week["pay"].get_absolute_url()}">1</a>' in html


def test_the_week_s_links_open_the_week_s_moves(week, chief, client, pages_today):
    chief.is_staff = True
    chief.save()
    client.force_login(chief)
    pay = week["pay"]

    response = client.get(
        "/admin/crm/stagechange/",
        {"partnership__project__id__exact": pay.pk, "move": "back", "within": "7"},
    )

    assert response.status_code == 200
    assert [c.pk for c in response.context["cl"].result_list] == list(
        StageChange.objects.filter(partnership=week["partnerships"][2], changed_at__gte=at(7))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# Once a week.


def test_a_second_run_the_same_week_sends_nothing(week, chief, mailoutbox):
    first = send()
    second = send()
    sunday = send(on=MONDAY + timedelta(days=6))

    assert len(mailoutbox) == 1
    assert "sent 1, skipped 0, failed 0" in first
    assert "sent 0, skipped 1, failed 0 (1 already sent)" in second
    assert "coordinator: skipped, already sent this week" in sunday
    log = DigestLog.objects.get()
    assert (log.user, log.kind, log.digest_on, log.status, log.attempts) == (
        chief,
        "weekly",
        MONDAY,
        "sent",
        1,
    )
    assert (log.overdue, log.stale) == (3, weekly.build(on=TODAY).quiet)


def test_the_next_week_sends_again(week, chief, mailoutbox):
    send()
    send(on=MONDAY + timedelta(days=7))

    assert len(mailoutbox) == 2
    assert list(DigestLog.objects.order_by("digest_on").values_list("digest_on", flat=True)) == [
        MONDAY,
        MONDAY + timedelta(days=7),
    ]


def test_the_daily_digest_and_the_weekly_summary_do_not_take_each_other_s_day(
    week, chief, mailoutbox
):
    factories.FollowUpFactory(assignee=chief, due_on=MONDAY - timedelta(days=1))
    call_command("send_digests", "--date", MONDAY.isoformat(), "--user", "coordinator")
    send(on=MONDAY)

    assert len(mailoutbox) == 2
    assert set(DigestLog.objects.values_list("kind", "digest_on", "status")) == {
        ("daily", MONDAY, "sent"),
        ("weekly", MONDAY, "sent"),
    }


def test_a_summary_being_sent_by_another_run_is_left_alone(week, chief, mailoutbox):
    DigestLog.objects.create(
        user=chief, kind="weekly", digest_on=MONDAY, status="sending", claimed_at=timezone.now()
    )

    out = send()

    assert mailoutbox == []
    assert "coordinator: skipped, being sent by another run" in out


def test_a_failure_is_said_and_retried_by_the_next_run(week, chief, mailoutbox, monkeypatch):
    build = weekly.message

    def refusing(summary):
        message = build(summary)

        def refuse(*args, **kwargs):
            raise ConnectionRefusedError("SMTP server down")

        message.send = refuse
        return message

    monkeypatch.setattr(weekly, "message", refusing)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        send(stdout=out, stderr=err)

    assert raised.value.returncode == 1
    assert mailoutbox == []
    assert "coordinator: FAILED — ConnectionRefusedError: SMTP server down" in err.getvalue()
    failed = DigestLog.objects.get()
    assert (failed.kind, failed.status, failed.attempts) == ("weekly", "failed", 1)

    monkeypatch.setattr(weekly, "message", build)
    retry = send()

    assert len(mailoutbox) == 1
    assert "sent 1, skipped 0, failed 0" in retry
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("sent", 2, "")


def test_dry_run_says_what_would_be_sent_and_sends_and_records_nothing(
    week, chief, mailoutbox, french
):
    out = send("--dry-run")

    assert mailoutbox == []
    assert not DigestLog.objects.exists()
    assert "coordinator: would send to awa.chef@example.org: [CRM Compact] Synthèse" in out
    assert "weekly summary, week of 2026-01-12: would send 1" in out
    assert "dry run, nothing sent" in out


def test_user_limits_the_run_to_one_recipient_and_refuses_one_who_does_not_receive_it(
    week, chief, amavi, mailoutbox
):
    with pytest.raises(CommandError, match="staffer does not receive the weekly summary"):
        send("--user", amavi.username)
    StaffProfile.objects.create(user=amavi, weekly_summary=True)

    send("--user", amavi.username)

    assert [m.to for m in mailoutbox] == [["ama.vi@example.org"]]


def test_without_an_address_it_is_skipped_and_said_so(week, chief, mailoutbox):
    chief.email = ""
    chief.save()

    out = send()

    assert mailoutbox == []
    assert "coordinator: skipped, no e-mail address" in out


# Bounded.


def _queries(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


def test_the_figures_take_the_same_queries_whatever_the_volume(week):
    small = _queries(lambda: weekly.build(on=TODAY))
    pay, hub = week["pay"], week["hub"]
    factories.ProjectFactory(code="third", name="Third")
    for n in range(30):
        partnership = factories.PartnershipFactory(project=pay if n % 2 else hub)
        _history(partnership, (40, "", Stage.IDENTIFIED), (n % 7, Stage.IDENTIFIED, Stage.ACTIVE))
        factories.FollowUpFactory(project=partnership.project, due_on=TODAY - timedelta(days=n))
        factories.CommitmentFactory(partnership=partnership)

    large = _queries(lambda: weekly.build(on=TODAY))

    assert small == large == 9


def test_a_run_reads_the_figures_once_whatever_the_recipients(week, chief, amavi, mailoutbox):
    one = _queries(lambda: send("--dry-run"))
    StaffProfile.objects.create(user=amavi, weekly_summary=True)
    for n in range(3):
        colleague = factories.UserFactory(username=f"colleague{n}", email=f"c{n}@example.org")
        StaffProfile.objects.create(user=colleague, weekly_summary=True)
        colleague.groups.add(*chief.groups.all())

    five = _queries(lambda: send("--dry-run"))

    # Dry run: the recipients, their logs and the figures, once for all; the
    # e-mail of each is written from those (no query per person).
    assert one == five
