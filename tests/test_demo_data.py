"""Demonstration data is marked in the database, counted in no real figure, and removable.

Issue 19: `make run` loads the demonstration data, and its amounts and
follow-ups mixed into the real totals with nothing to say so. Here the source
facts, one real commitment and one real follow-up are loaded, every figure the
pages, the API and the digest give is read, the demonstration data is loaded,
and every figure is read again: none may change, except where demonstration
data is shown apart, under its own label.
"""

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from crm import digests, services, tallies
from crm.models import (
    Agreement,
    Commitment,
    Document,
    ExchangeRate,
    FollowUp,
    FollowUpPlan,
    Interaction,
    Organization,
    Partnership,
    Project,
    StaffProfile,
)
from tests import factories

FIXTURE = settings.BASE_DIR / "fixtures" / "compact_togo_2023.json"
DEMO_USERNAMES = {"demo-coordination", "demo-staff", "demo-lecture"}
DEMO_MODELS = [FollowUp, Commitment, Agreement, Document, ExchangeRate, FollowUpPlan]


def _run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def real_work(db, coordinator, today):
    """The source facts, a real commitment of 1,000,000 XOF to Visa and a real follow-up."""
    call_command("loaddata", str(FIXTURE), verbosity=0)
    coordinator.email = "coordination@example.org"
    coordinator.save()
    visa = Partnership.objects.get(organization__slug="visa", project__code="paiements-digitaux")
    factories.CommitmentFactory(partnership=visa, amount="1000000", currency="XOF")
    factories.FollowUpFactory(
        project=visa.project,
        organization=visa.organization,
        assignee=coordinator,
        due_on=today - timedelta(days=3),
    )
    return coordinator


def _figures(client, user, today) -> dict:
    """Every real figure a member of the unit reads, by where it is read."""
    client.force_login(user)
    figures = {}
    for path in ["/organizations/visa/", "/projects/paiements-digitaux/"]:
        money = client.get(path).context["money"]
        figures[path] = [(row.status, row.xof, row.usd, row.count) for row in money.rows]
    projects = client.get("/projects/").context["page"]
    figures["/projects/"] = [
        (p.code, p.open_count, p.overdue_count, p.due_soon_count) for p in projects
    ]
    for scope in ["mine", "team"]:
        response = client.get(f"/?scope={scope}")
        figures[f"dashboard {scope}"] = [
            (group.key, group.total, [f.pk for f in group.follow_ups])
            for group in response.context["groups"]
        ]
        figures[f"chart {scope}"] = [
            (bar["project"].pk, bar["project"].open_count)
            for bar in response.context["chart"]["bars"]
        ]
    mission = client.get("/missions/mission-usa-2023-09/").context
    figures["mission"] = repr(list(mission["commitments_since"]))
    api = client.get("/api/v1/commitments/totals/", HTTP_ACCEPT="application/json").json()
    figures["api totals"] = api["rows"]
    digest = digests.compute(user, on=today, coordination=True)
    figures["digest"] = (
        [f.pk for f in digest.overdue + digest.due_soon + digest.waiting],
        digest.totals,
    )
    figures["team summary"] = [
        (row.project.pk, row.open_count, row.overdue_count, row.due_soon_count)
        for row in digests.team_summary(on=today)
    ]
    return figures


def test_no_real_figure_changes_when_the_demonstration_data_is_loaded(
    client, real_work, today, pages_today
):
    before = _figures(client, real_work, today)

    _run("load_demo", today=today, assignee=real_work.username)

    assert FollowUp.objects.filter(is_demo=True, assignee=real_work).exists()
    assert Commitment.objects.filter(is_demo=True).exists()
    assert _figures(client, real_work, today) == before


def test_the_demonstration_data_is_shown_apart_under_its_own_label(
    client, real_work, today, pages_today
):
    _run("load_demo", today=today, assignee=real_work.username)
    client.force_login(real_work)

    dashboard = client.get("/")
    demo = dashboard.context["demo"]
    mine = FollowUp.objects.open().filter(is_demo=True, assignee=real_work)
    assert demo["total"] == mine.count()
    assert all(f.is_demo for f in demo["follow_ups"])
    assert 'id="group-demo"' in dashboard.content.decode()
    project = client.get("/projects/paiements-digitaux/").context["money"]
    assert project.demo is not None and project.demo.has_amounts
    projects = client.get("/projects/").context["page"]
    demo_counts = tallies.demo_counts_by_project(today=today)
    assert [p.demo_open_count for p in projects] == [
        demo_counts.get(p.pk, {}).get("open", 0) for p in projects
    ]
    api = client.get("/api/v1/commitments/totals/", HTTP_ACCEPT="application/json").json()
    assert api["demo_rows"]


def test_load_demo_marks_every_record_it_makes(db, real_work, today):
    before = {model: set(model.objects.values_list("pk", flat=True)) for model in DEMO_MODELS}

    _run("load_demo", today=today)

    for model in DEMO_MODELS:
        made = model.objects.exclude(pk__in=before[model])
        assert made.exists(), model
        assert not made.filter(is_demo=False).exists(), model
    demo_users = get_user_model().objects.filter(username__in=DEMO_USERNAMES)
    assert demo_users.count() == 3
    assert all(user.crm_profile.is_demo for user in demo_users)
    assert not StaffProfile.objects.filter(user=real_work, is_demo=True).exists()


def test_a_demonstration_follow_up_is_never_done_before_it_was_opened(db, real_work, today):
    _run("load_demo", today=today)

    done = FollowUp.objects.filter(is_demo=True, status=FollowUp.Status.DONE)
    assert done.exists()
    for follow_up in done:
        opened = follow_up.history.earliest("history_date").history_date
        assert follow_up.created_at == opened
        assert opened < follow_up.completed_at


def test_remove_demo_removes_every_demonstration_record_and_nothing_else(
    db, real_work, today, django_capture_on_commit_callbacks
):
    facts = {
        model: set(model.objects.values_list("pk", flat=True))
        for model in [Organization, Project, Partnership, Interaction, *DEMO_MODELS]
    }
    users = set(get_user_model().objects.values_list("pk", flat=True))
    _run("load_demo", today=today, assignee=real_work.username)
    files = [document.file.name for document in Document.objects.filter(is_demo=True)]
    storage = Document._meta.get_field("file").storage
    assert files and all(storage.exists(name) for name in files)

    with django_capture_on_commit_callbacks(execute=True):
        out = _run("remove_demo")

    assert {model: set(model.objects.values_list("pk", flat=True)) for model in facts} == facts
    assert set(get_user_model().objects.values_list("pk", flat=True)) == users
    assert not any(storage.exists(name) for name in files)
    assert not FollowUp.history.filter(title__startswith="[Démo]").exists()
    assert "Follow-ups:" in out and "Commitments:" in out
    assert "No demonstration data." in _run("remove_demo")


def test_remove_demo_refuses_and_removes_nothing_while_real_work_points_at_an_example(
    db, real_work, today
):
    _run("load_demo", today=today)
    example = Commitment.objects.filter(is_demo=True).first()
    real = factories.FollowUpFactory(
        title="Relancer Visa", project=example.partnership.project, commitment=example
    )
    demo_before = {model: model.objects.filter(is_demo=True).count() for model in DEMO_MODELS}

    with pytest.raises(CommandError, match=f"#{real.pk}") as error:
        _run("remove_demo")

    assert "nothing was removed" in str(error.value)
    assert {
        model: model.objects.filter(is_demo=True).count() for model in DEMO_MODELS
    } == demo_before
    assert get_user_model().objects.filter(username__in=DEMO_USERNAMES).count() == 3


def test_a_demonstration_account_that_acted_on_real_records_is_kept_deactivated(
    db, real_work, today
):
    _run("load_demo", today=today)
    demo_staff = get_user_model().objects.get(username="demo-staff")
    visa = Partnership.objects.get(organization__slug="visa", project__code="paiements-digitaux")
    services.partnership_change_stage(
        partnership=visa, to_stage=Partnership.Stage.EXPLORING, by=demo_staff, note="Appel"
    )

    out = _run("remove_demo")

    demo_staff.refresh_from_db()
    assert not demo_staff.is_active
    assert "demo-staff" in out
    assert not get_user_model().objects.filter(username="demo-lecture").exists()


def test_the_dashboard_file_lists_demonstration_follow_ups_last_and_says_so(
    client, real_work, today, pages_today
):
    _run("load_demo", today=today, assignee=real_work.username)
    client.force_login(real_work)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/?export=csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()

    header, *rows = list(csv.reader(lines))
    demo = [row[header.index("Demonstration data")] for row in rows]
    titles = [row[header.index("Title")] for row in rows]
    real = FollowUp.objects.open().filter(assignee=real_work, is_demo=False).count()
    assert demo == ["no"] * real + ["yes"] * (len(rows) - real)
    assert all(title.startswith("[Démo]") for title in titles[real:])
