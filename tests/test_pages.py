"""Staff pages: what each shows, who may act, and that every act goes through a service."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm.models import (
    DatePrecision,
    FollowUp,
    FollowUpPlan,
    FollowUpPlanStep,
    Interaction,
    MissionMember,
    Partnership,
    StaffProfile,
    StageChange,
)
from crm.templatetags.crm_tags import precise_date, precise_span
from crm.versions import version_of
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def late(user, **kwargs) -> FollowUp:
    return factories.FollowUpFactory(assignee=user, due_on=TODAY - timedelta(days=3), **kwargs)


def meeting(organization, occurred_on=TODAY - timedelta(days=40), **kwargs) -> Interaction:
    return factories.InteractionFactory(
        organizations=[organization], occurred_on=occurred_on, **kwargs
    )


# Anonymous visitors are sent to log in; every page and action.


@pytest.fixture
def world(staff_user):
    """One of everything a page can show, linked together."""
    organization = factories.OrganizationFactory(slug="visa", name="Visa")
    project = factories.ProjectFactory(code="payments", name="Digital payments")
    partnership = factories.PartnershipFactory(organization=organization, project=project)
    mission = factories.MissionFactory(slug="usa", date_precision=DatePrecision.LATE_MONTH)
    interaction = meeting(organization, mission=mission, slug="cca", title="CCA meetings")
    interaction.projects.set([project])
    follow_up = late(
        staff_user, organization=organization, project=project, interaction=interaction
    )
    return {
        "organization": organization,
        "project": project,
        "partnership": partnership,
        "mission": mission,
        "interaction": interaction,
        "follow_up": follow_up,
    }


PAGES = [
    "/",
    "/organizations/visa/",
    "/projects/payments/",
    "/missions/usa/",
    "/interactions/cca/",
    "/interactions/new/",
    "/follow-ups/new/",
    "/search/?q=visa",
]


def action_posts(world) -> list[tuple[str, dict]]:
    """Return every action of the pages with valid data."""
    pk = world["follow_up"].pk
    return [
        (f"/follow-ups/{pk}/done/", {"completion_note": "Called them."}),
        (
            f"/follow-ups/{pk}/snooze/",
            {"due_on": "2026-02-01", "reason": "Away", "version": version_of(world["follow_up"])},
        ),
        (
            f"/follow-ups/{pk}/reassign/",
            {
                "assignee": world["follow_up"].assignee_id,
                "version": version_of(world["follow_up"]),
            },
        ),
        (f"/follow-ups/{pk}/waiting/", {"version": version_of(world["follow_up"])}),
        (
            f"/partnerships/{world['partnership'].pk}/stage/",
            {"stage": "exploring", "version": version_of(world["partnership"])},
        ),
        (
            "/follow-ups/new/",
            {"title": "x", "project": world["project"].pk, "due_on": "2026-02-01"},
        ),
        ("/interactions/cca/apply-plan/", {}),
        ("/interactions/new/", {}),
    ]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, world, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_actions_are_sent_to_log_in_and_change_nothing(client, world):
    for url, data in action_posts(world):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert FollowUp.objects.get().status == FollowUp.Status.OPEN


# Read-only users see everything and can do nothing.


@pytest.mark.parametrize("url", PAGES[:5] + PAGES[-1:])
def test_read_only_users_see_the_pages_without_any_action(client, world, reader, url):
    world["follow_up"].assignee = reader
    world["follow_up"].save()
    client.force_login(reader)

    response = client.get(url)

    assert response.status_code == 200
    for action in ("/done/", "/snooze/", "/waiting/", "/stage/", "/apply-plan/", "/new/"):
        assert action not in response.text, action
    assert 'method="post"' not in response.text.replace(
        f'action="{reverse("set_language")}" method="post"', ""
    ).replace(f'action="{reverse("logout")}" method="post"', "")


@pytest.mark.parametrize("url", ["/interactions/new/", "/follow-ups/new/"])
def test_read_only_users_get_403_on_the_forms(client, world, reader, url):
    client.force_login(reader)

    assert client.get(url).status_code == 403


def test_read_only_users_get_403_on_every_action_and_nothing_changes(client, world, reader):
    FollowUpPlan.objects.create(slug="plan", name="Plan")
    client.force_login(reader)

    for url, data in action_posts(world):
        assert client.post(url, data).status_code == 403, url

    follow_up = FollowUp.objects.get()
    assert (follow_up.status, follow_up.due_on) == (
        FollowUp.Status.OPEN,
        world["follow_up"].due_on,
    )
    assert Partnership.objects.get().stage == Partnership.Stage.CONTACTED
    assert Interaction.objects.count() == 1


def test_users_without_a_role_get_403_on_the_pages(client, world):
    client.force_login(factories.UserFactory(username="nobody"))

    assert client.get("/").status_code == 403
    assert client.get("/organizations/visa/").status_code == 403


# Dashboard.


def test_dashboard_groups_my_open_follow_ups_by_when_they_are_due(client, staff_user):
    def mine(title, days, **kwargs):
        factories.FollowUpFactory(
            title=title, assignee=staff_user, due_on=TODAY + timedelta(days=days), **kwargs
        )

    mine("Late one", -1)
    mine("Today's", 0)
    mine("In a week", 7)
    mine("In eight days", 8)
    mine("Their move", -5, status=FollowUp.Status.WAITING)
    mine("Already done", -1, status=FollowUp.Status.CANCELLED)
    factories.FollowUpFactory(title="Someone else's", due_on=TODAY - timedelta(days=1))
    client.force_login(staff_user)

    response = client.get("/")

    groups = {
        group.key: [f.title for f in group.follow_ups] for group in response.context["groups"]
    }
    assert groups == {
        "overdue": ["Late one"],
        "today": ["Today's"],
        "week": ["In a week"],
        "later": ["In eight days"],
        "waiting": ["Their move"],
    }
    assert "Someone else&#x27;s" not in response.text


def test_coordination_can_switch_to_the_whole_team(client, coordinator, staff_user):
    late(staff_user, title="Staff's late one")
    client.force_login(coordinator)

    mine = client.get("/")
    team = client.get("/?scope=team")

    assert "Staff&#x27;s late one" not in mine.text
    assert "Staff&#x27;s late one" in team.text
    assert team.context["scope"] == "team"


def test_staff_cannot_switch_to_the_whole_team(client, staff_user, coordinator):
    late(coordinator, title="Coordinator's")
    client.force_login(staff_user)
    english(client)

    response = client.get("/?scope=team")

    assert response.context["scope"] == "mine"
    assert "Coordinator&#x27;s" not in response.text
    assert "Whole team" not in response.text


def test_dashboard_shows_stale_partnerships_amber_then_red(client, staff_user):
    amber = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name="Amber Org"),
        contact_cadence_days=20,
        owner=staff_user,
    )
    meeting(amber.organization, TODAY - timedelta(days=25))
    red = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name="Red Org"),
        contact_cadence_days=20,
        owner=staff_user,
    )
    meeting(red.organization, TODAY - timedelta(days=31))
    fresh = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name="Fresh Org"),
        contact_cadence_days=20,
        owner=staff_user,
    )
    meeting(fresh.organization, TODAY - timedelta(days=3))
    client.force_login(staff_user)

    response = client.get("/")

    stale = {p.organization.name: p.staleness for p in response.context["quiet"].partnerships}
    assert stale == {"Red Org": "red", "Amber Org": "amber"}
    assert 'class="stale-red"' in response.text
    assert 'class="stale-amber"' in response.text


def test_my_dashboard_shows_only_the_partnerships_i_own_gone_quiet(
    client, staff_user, coordinator
):
    def quiet(name, owner):
        partnership = factories.PartnershipFactory(
            organization=factories.OrganizationFactory(name=name),
            owner=owner,
            contact_cadence_days=20,
        )
        meeting(partnership.organization, TODAY - timedelta(days=31))

    quiet("Mine Org", staff_user)
    quiet("Colleague Org", coordinator)
    quiet("Nobody's Org", None)

    client.force_login(staff_user)
    mine = client.get("/")
    client.force_login(coordinator)
    team = client.get("/?scope=team")

    assert [p.organization.name for p in mine.context["quiet"].partnerships] == ["Mine Org"]
    assert {p.organization.name for p in team.context["quiet"].partnerships} == {
        "Mine Org",
        "Colleague Org",
        "Nobody's Org",
    }


def test_dashboard_chart_counts_open_and_overdue_follow_ups_per_project(client, staff_user):
    project = factories.ProjectFactory(name="Connectivity")
    late(staff_user, project=project)
    factories.FollowUpFactory(project=project, due_on=TODAY + timedelta(days=3))
    factories.FollowUpFactory(project=project, status=FollowUp.Status.CANCELLED)
    client.force_login(staff_user)
    english(client)

    response = client.get("/")

    assert "<svg" in response.text
    assert "<title>Connectivity: 2 open, 1 overdue</title>" in response.text
    assert "<script" not in response.text


def test_dashboard_is_in_english_after_switching(client, staff_user):
    client.force_login(staff_user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = client.get("/")

    assert '<html lang="en">' in response.text
    assert "My follow-ups" in response.text
    assert "Overdue" in response.text


def test_dashboard_is_in_french_by_default(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/")

    assert '<html lang="fr">' in response.text
    assert "Mes suivis" in response.text
    assert "En retard" in response.text
    assert "Se déconnecter" in response.text


# Organisation page.


def test_organization_page_tells_the_partners_whole_story(client, staff_user, coordinator):
    organization = factories.OrganizationFactory(
        slug="amazonbloc",
        name="AmazonBloc Inc",
        needs_verification=True,
        verification_note="Name as printed in the source.",
    )
    factories.AffiliationFactory(
        organization=organization, person__given_name="Ada", title="Director"
    )
    partnership = factories.PartnershipFactory(
        organization=organization, project__name="Payments", stage="contacted"
    )
    meeting(
        organization,
        date(2023, 9, 1),
        title="CCA session",
        date_precision=DatePrecision.LATE_MONTH,
    )
    opened = factories.FollowUpFactory(
        title="Send the concept note",
        organization=organization,
        project=partnership.project,
        assignee=staff_user,
    )
    from crm import services

    services.partnership_change_stage(
        partnership=partnership, to_stage="exploring", by=coordinator, note="Call went well"
    )
    services.follow_up_complete(follow_up=opened, by=staff_user, note="Sent on Monday")
    client.force_login(staff_user)
    english(client)

    response = client.get("/organizations/amazonbloc/")

    text = response.text
    assert "To verify" in text and "Name as printed in the source." in text
    assert "Ada" in text and "Director" in text
    assert "Payments" in text and "Exploring" in text
    assert "late September 2023" in text
    kinds = [entry.kind for entry in response.context["timeline"]]
    assert kinds == ["follow_up_done", "stage_change", "follow_up_opened", "interaction"]
    assert "Sent on Monday" in text and "Call went well" in text


def test_organization_timeline_shows_a_partnership_s_first_stage(client, staff_user):
    organization = factories.OrganizationFactory(slug="visa")
    from crm import services

    services.partnership_create(
        by=staff_user,
        organization=organization,
        project=factories.ProjectFactory(name="Payments"),
        role="funder",
        stage="contacted",
    )
    # Partnerships loaded from the fixture have no stage history at all.
    factories.PartnershipFactory(organization=organization, project__name="Energy")
    client.force_login(staff_user)
    english(client)

    response = client.get("/organizations/visa/")

    assert response.status_code == 200
    assert [entry.kind for entry in response.context["timeline"]] == ["stage_change"]
    assert "Payments: — → Contacted" in " ".join(response.text.split())


def test_organization_page_lists_current_roles_before_ended_ones(client, staff_user):
    # Both databases: NULL end dates sort first on SQLite, last on PostgreSQL.
    organization = factories.OrganizationFactory(slug="org")
    factories.AffiliationFactory(
        organization=organization,
        person__family_name="Aaron",
        start_on=date(2020, 1, 1),
        end_on=date(2024, 6, 30),
    )
    factories.AffiliationFactory(organization=organization, person__family_name="Zinsou")
    client.force_login(staff_user)

    response = client.get("/organizations/org/")

    names = [a.person.family_name for a in response.context["affiliations"]]
    assert names == ["Zinsou", "Aaron"]


def test_organization_page_flags_a_placeholder_as_not_identified(client, staff_user):
    factories.OrganizationFactory(slug="vc", is_identified=False)
    client.force_login(staff_user)
    english(client)

    assert "Not identified" in client.get("/organizations/vc/").text


def test_unknown_organization_is_404(client, staff_user):
    client.force_login(staff_user)

    assert client.get("/organizations/nope/").status_code == 404


# Project page.


def test_project_page_shows_the_pipeline_by_stage(client, staff_user):
    project = factories.ProjectFactory(code="hub", name="Innovation hub")
    exploring = factories.PartnershipFactory(
        project=project, stage="exploring", owner=staff_user, organization__name="Stanford"
    )
    factories.PartnershipFactory(project=project, stage="closed", organization__name="Gone")
    factories.FollowUpFactory(
        project=project,
        organization=exploring.organization,
        due_on=date(2026, 2, 3),
        title="Send the hub note",
    )
    client.force_login(staff_user)

    response = client.get("/projects/hub/")

    columns = {
        column.stage: [p.organization.name for p in column.partnerships]
        for column in (response.context["columns"] + response.context["side_columns"])
    }
    assert columns["exploring"] == ["Stanford"]
    assert columns["closed"] == ["Gone"]
    assert columns["contacted"] == []
    assert response.context["columns"][2].partnerships[0].next_follow_up_on == date(2026, 2, 3)
    assert "Send the hub note" in response.text
    assert f'action="/partnerships/{exploring.pk}/stage/"' in response.text


def test_staff_move_a_partner_to_another_stage_through_the_service(client, staff_user):
    partnership = factories.PartnershipFactory(project__code="hub", stage="contacted")
    client.force_login(staff_user)

    response = client.post(
        f"/partnerships/{partnership.pk}/stage/",
        {
            "stage": "proposal",
            "note": "",
            "next": "/projects/hub/",
            "version": version_of(partnership),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/projects/hub/"
    change = StageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        "contacted",
        "proposal",
        staff_user,
    )
    partnership.refresh_from_db()
    assert partnership.stage == "proposal"
    assert partnership.history.first().history_user == staff_user


def test_moving_to_the_same_stage_says_why_and_records_nothing(client, staff_user):
    partnership = factories.PartnershipFactory(stage="contacted")
    client.force_login(staff_user)

    response = client.post(
        f"/partnerships/{partnership.pk}/stage/",
        {"stage": "contacted", "version": version_of(partnership)},
        follow=True,
    )

    assert not StageChange.objects.exists()
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_next_parameter_cannot_send_users_elsewhere(client, staff_user):
    partnership = factories.PartnershipFactory(project__code="hub")
    client.force_login(staff_user)

    response = client.post(
        f"/partnerships/{partnership.pk}/stage/",
        {"stage": "exploring", "next": "https://evil.example/"},
    )

    assert response["Location"] == "/projects/hub/"


# Mission page.


def test_mission_page_reports_dates_people_meetings_and_follow_ups(client, staff_user):
    organizer = factories.OrganizationFactory(name="Corporate Council on Africa")
    mission = factories.MissionFactory(
        slug="usa",
        title="US mission",
        date_precision=DatePrecision.LATE_MONTH,
        cities="Washington, San Francisco",
        organizer=organizer,
    )
    MissionMember.objects.create(
        mission=mission, person=factories.PersonFactory(given_name="Cina"), role="Minister"
    )
    visa = factories.OrganizationFactory(name="Visa")
    session = meeting(visa, date(2023, 9, 1), mission=mission, title="CCA session")
    session.outcome = "Agreed to talk again"
    session.save()
    factories.FollowUpFactory(interaction=session, organization=visa, title="Send the note")
    done = factories.FollowUpFactory(interaction=session, organization=visa, title="Thank them")
    from crm import services

    services.follow_up_complete(follow_up=done, by=staff_user, note="Thanked by e-mail")
    client.force_login(staff_user)
    english(client)

    response = client.get("/missions/usa/")

    text = response.text
    assert "late September 2023" in text
    assert "Washington, San Francisco" in text
    assert "Cina" in text and "Minister" in text
    assert "CCA session" in text and "Agreed to talk again" in text
    (row,) = response.context["partners"]
    assert row.organization == visa
    assert [f.title for f in row.open] == ["Send the note"]
    assert [f.title for f in row.closed] == ["Thank them"]
    assert "Thanked by e-mail" in text
    assert 'href="/static/crm/print.css" media="print"' in text


# Dates as precise as the source.


@pytest.mark.parametrize(
    ("precision", "english_text"),
    [
        (DatePrecision.DAY, "28 Sep 2023"),  # Day first in English too (issue 19).
        (DatePrecision.EARLY_MONTH, "early September 2023"),
        (DatePrecision.MID_MONTH, "mid-September 2023"),
        (DatePrecision.LATE_MONTH, "late September 2023"),
        (DatePrecision.MONTH, "September 2023"),
        (DatePrecision.YEAR, "2023"),
    ],
)
def test_precise_date_says_no_more_than_the_source(precision, english_text):
    with translation.override("en"):
        assert precise_date(date(2023, 9, 28), precision) == english_text


def test_precise_date_uses_french_month_names_in_french():
    with translation.override("fr"):
        assert "septembre 2023" in precise_date(date(2023, 9, 1), DatePrecision.LATE_MONTH)


def test_a_rough_span_within_one_month_reads_as_that_period():
    with translation.override("en"):
        start, end = date(2023, 9, 1), date(2023, 9, 30)
        assert precise_span(start, end, DatePrecision.LATE_MONTH) == "late September 2023"
        assert precise_span(start, end, DatePrecision.DAY) == "1 Sep 2023 to 30 Sep 2023"


# Follow-up actions.


@pytest.fixture
def acting(client, staff_user, world):
    client.force_login(staff_user)
    return world["follow_up"]


def test_staff_mark_a_follow_up_done_with_a_note(client, staff_user, acting):
    response = client.post(
        f"/follow-ups/{acting.pk}/done/", {"completion_note": "Called them", "next": "/"}
    )

    assert response["Location"] == "/"
    acting.refresh_from_db()
    assert (acting.status, acting.completion_note, acting.completed_by) == (
        FollowUp.Status.DONE,
        "Called them",
        staff_user,
    )
    assert acting.history.first().history_user == staff_user


def test_marking_done_without_a_note_shows_the_form_again_and_changes_nothing(client, acting):
    response = client.post(f"/follow-ups/{acting.pk}/done/", {"completion_note": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["completion_note"]
    acting.refresh_from_db()
    assert acting.status == FollowUp.Status.OPEN


def test_staff_snooze_a_follow_up_with_a_reason(client, staff_user, acting):
    client.post(
        f"/follow-ups/{acting.pk}/snooze/",
        {"due_on": "2026-02-01", "reason": "On leave", "version": version_of(acting)},
    )

    acting.refresh_from_db()
    assert acting.due_on == date(2026, 2, 1)
    latest = acting.history.first()
    assert (latest.history_user, latest.history_change_reason) == (staff_user, "On leave")


def test_snoozing_to_a_past_date_is_refused_next_to_the_field(client, acting):
    response = client.post(
        f"/follow-ups/{acting.pk}/snooze/",
        {"due_on": "2026-01-14", "reason": "Oops", "version": version_of(acting)},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["due_on"]
    acting.refresh_from_db()
    assert acting.due_on == TODAY - timedelta(days=3)


def test_staff_reassign_a_follow_up(client, staff_user, coordinator, acting):
    client.post(
        f"/follow-ups/{acting.pk}/reassign/",
        {"assignee": coordinator.pk, "version": version_of(acting)},
    )

    acting.refresh_from_db()
    assert acting.assignee == coordinator
    assert acting.history.first().history_user == staff_user


def test_follow_ups_cannot_be_given_to_read_only_users(client, reader, acting):
    response = client.post(f"/follow-ups/{acting.pk}/reassign/", {"assignee": reader.pk})

    assert response.context["form"].errors["assignee"]
    acting.refresh_from_db()
    assert acting.assignee != reader


def test_reassigning_a_closed_follow_up_says_why(client, coordinator, acting):
    acting.status = FollowUp.Status.CANCELLED
    acting.save()
    english(client)

    response = client.post(
        f"/follow-ups/{acting.pk}/reassign/",
        {"assignee": coordinator.pk, "version": version_of(acting)},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "This follow-up is already Cancelled." in response.text
    acting.refresh_from_db()
    assert acting.assignee != coordinator


def test_staff_mark_a_follow_up_waiting_on_the_partner(client, staff_user, acting):
    client.post(f"/follow-ups/{acting.pk}/waiting/", {"version": version_of(acting)})

    acting.refresh_from_db()
    assert acting.status == FollowUp.Status.WAITING
    assert acting.history.first().history_user == staff_user


def test_acting_on_a_closed_follow_up_says_so(client, staff_user, acting):
    acting.status = FollowUp.Status.CANCELLED
    acting.save()

    english(client)

    response = client.post(f"/follow-ups/{acting.pk}/waiting/", {"version": version_of(acting)})

    assert response.status_code == 200
    assert "This follow-up is already Cancelled." in response.text
    acting.refresh_from_db()
    assert acting.status == FollowUp.Status.CANCELLED


def test_action_page_without_javascript_shows_the_form(client, acting):
    response = client.get(f"/follow-ups/{acting.pk}/snooze/")

    assert response.status_code == 200
    assert 'name="reason"' in response.text


def test_staff_add_a_follow_up_prefilled_from_an_interaction(client, staff_user, world):
    client.force_login(staff_user)

    form = client.get("/follow-ups/new/?interaction=cca").context["form"]

    assert form.initial["interaction"] == world["interaction"]
    assert form.initial["organization"] == world["organization"]
    assert form.initial["project"] == world["project"]
    assert form.initial["assignee"] == staff_user

    response = client.post(
        "/follow-ups/new/",
        {
            "title": "Send the deck",
            "project": world["project"].pk,
            "organization": world["organization"].pk,
            "interaction": world["interaction"].pk,
            "assignee": staff_user.pk,
            "due_on": "2026-02-01",
            "priority": "high",
        },
    )

    created = FollowUp.objects.get(title="Send the deck")
    assert response["Location"] == f"/follow-ups/{created.pk}/"
    assert (created.created_by, created.interaction) == (staff_user, world["interaction"])
    assert created.history.first().history_user == staff_user


def test_add_a_follow_up_prefilled_from_an_organization_and_a_project(client, staff_user, world):
    client.force_login(staff_user)

    form = client.get("/follow-ups/new/?organization=visa&project=payments").context["form"]

    assert (form.initial["organization"], form.initial["project"]) == (
        world["organization"],
        world["project"],
    )


# Logging an interaction.


def log_data(world, staff_user, rows: list[dict], **overrides) -> dict:
    data = {
        "kind": "meeting",
        "title": "Call with Visa",
        "occurred_on": "2026-01-14",
        "date_precision": "day",
        "city": "Lomé",
        "organizations": [world["organization"].pk],
        "staff": [staff_user.pk],
        "projects": [world["project"].pk],
        "summary": "Discussed the pilot",
        "outcome": "They will send a proposal",
        "follow_ups-TOTAL_FORMS": str(len(rows)),
        "follow_ups-INITIAL_FORMS": "0",
        "follow_ups-MIN_NUM_FORMS": "0",
        "follow_ups-MAX_NUM_FORMS": "1000",
        **overrides,
    }
    for index, row in enumerate(rows):
        for field, value in row.items():
            data[f"follow_ups-{index}-{field}"] = value
    return data


def row(world, staff_user, **values) -> dict:
    """Return a follow-up row; left as is, it is what a blank row posts."""
    return {
        "title": "",
        "project": "",
        "organization": "",
        "assignee": staff_user.pk,
        "due_on": "",
        "priority": "normal",
        **values,
    }


def test_staff_log_an_interaction_with_two_follow_ups_in_one_submit(client, staff_user, world):
    client.force_login(staff_user)
    project = world["project"].pk
    rows = [
        row(world, staff_user, title="Thank them", project=project, due_on="2026-01-16"),
        row(world, staff_user, title="Send the proposal", project=project, due_on="2026-01-30"),
        row(world, staff_user),  # blank: ignored
    ]

    response = client.post("/interactions/new/", log_data(world, staff_user, rows))

    interaction = Interaction.objects.get(title="Call with Visa")
    assert response["Location"] == interaction.get_absolute_url()
    assert list(interaction.organizations.all()) == [world["organization"]]
    assert list(interaction.staff.all()) == [staff_user]
    assert interaction.city == "Lomé" and interaction.created_by == staff_user
    assert sorted(interaction.follow_ups.values_list("title", flat=True)) == [
        "Send the proposal",
        "Thank them",
    ]
    assert interaction.history.first().history_user == staff_user
    assert {f.history.first().history_user for f in interaction.follow_ups.all()} == {staff_user}


def test_a_meeting_is_logged_with_its_time_in_lome_and_its_place(client, staff_user, world):
    client.force_login(staff_user)

    client.post(
        "/interactions/new/",
        log_data(world, staff_user, [], time="15:30", location="Ministère, salle 3"),
    )

    interaction = Interaction.objects.get(title="Call with Visa")
    lome = ZoneInfo("Africa/Lome")
    assert interaction.starts_at == datetime(2026, 1, 14, 15, 30, tzinfo=lome)
    assert interaction.location == "Ministère, salle 3"
    page = client.get(interaction.get_absolute_url()).content.decode()
    assert "15:30" in page and "Ministère, salle 3" in page


def test_an_error_in_one_follow_up_keeps_everything_typed_and_saves_nothing(
    client, staff_user, world
):
    client.force_login(staff_user)
    project = world["project"].pk
    rows = [
        row(world, staff_user, title="Thank them", project=project, due_on="2026-01-16"),
        row(world, staff_user, title="", project=project, due_on="2026-01-30"),  # no title
    ]

    response = client.post("/interactions/new/", log_data(world, staff_user, rows))

    assert response.status_code == 200
    assert Interaction.objects.count() == 1  # the world's own
    assert FollowUp.objects.count() == 1
    assert response.context["formset"].forms[1].errors["title"]
    assert 'value="Call with Visa"' in response.text
    assert 'value="Thank them"' in response.text
    assert "They will send a proposal" in response.text


def test_logging_without_an_organization_is_refused(client, staff_user, world):
    client.force_login(staff_user)

    response = client.post("/interactions/new/", log_data(world, staff_user, [], organizations=[]))

    assert response.context["form"].errors["organizations"]
    assert Interaction.objects.count() == 1


def test_adding_a_row_keeps_what_was_typed_and_saves_nothing(client, staff_user, world):
    client.force_login(staff_user)
    rows = [row(world, staff_user, title="Thank them", due_on="2026-01-16")]  # no project

    response = client.post(
        "/interactions/new/", {**log_data(world, staff_user, rows, title=""), "add_row": "1"}
    )

    assert len(response.context["formset"].forms) == 2
    assert 'value="Thank them"' in response.text
    assert "errorlist" not in response.text
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize("total", ["abc", "", "-1", "1e9", "²", "99999999999999999999"])
def test_adding_a_row_with_a_tampered_row_count_is_not_an_error(client, staff_user, world, total):
    client.force_login(staff_user)
    data = {**log_data(world, staff_user, []), "add_row": "1"}
    data["follow_ups-TOTAL_FORMS"] = total

    response = client.post("/interactions/new/", data)

    assert response.status_code == 200
    assert 1 <= len(response.context["formset"].forms) <= 20
    assert Interaction.objects.count() == 1


def test_adding_rows_stops_at_twenty(client, staff_user, world):
    client.force_login(staff_user)
    data = {**log_data(world, staff_user, []), "add_row": "1"}
    data["follow_ups-TOTAL_FORMS"] = "500"

    response = client.post("/interactions/new/", data)

    assert len(response.context["formset"].forms) == 20


def test_log_form_is_prefilled_from_an_organization(client, staff_user, world):
    client.force_login(staff_user)

    response = client.get("/interactions/new/?organization=visa&project=payments")

    assert response.context["form"].initial["organizations"] == [world["organization"]]
    assert response.context["form"].initial["projects"] == [world["project"]]


# Interaction page and plans.


def test_interaction_page_shows_participants_and_follow_ups(client, staff_user, world):
    client.force_login(staff_user)

    response = client.get("/interactions/cca/")

    assert "CCA meetings" in response.text
    assert 'href="/organizations/visa/"' in response.text
    assert f'id="follow-up-{world["follow_up"].pk}"' in response.text


def test_staff_apply_a_plan_to_an_interaction(client, staff_user, world):
    plan = FollowUpPlan.objects.create(slug="first", name="After a first meeting")
    FollowUpPlanStep.objects.create(plan=plan, offset_days=2, title="Thank-you note")
    FollowUpPlanStep.objects.create(plan=plan, offset_days=60, title="Call")
    client.force_login(staff_user)

    response = client.post(
        "/interactions/cca/apply-plan/",
        {
            "plan": plan.pk,
            "project": world["project"].pk,
            "organization": world["organization"].pk,
            "assignee": staff_user.pk,
        },
    )

    assert response["Location"] == "/interactions/cca/"
    created = world["interaction"].follow_ups.exclude(pk=world["follow_up"].pk)
    meeting_day = world["interaction"].occurred_on
    assert sorted(created.values_list("title", "due_on")) == [
        ("Call", meeting_day + timedelta(days=60)),
        ("Thank-you note", TODAY),  # never before today
    ]


# Search.


def test_search_finds_organizations_people_and_projects(client, staff_user):
    factories.OrganizationFactory(name="Visa")
    factories.AffiliationFactory(
        person__given_name="Vivian", person__family_name="Visakhan", organization__name="Acme"
    )
    factories.ProjectFactory(name="Visa pilot project")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(staff_user)

    response = client.get("/search/?q=visa")

    results = response.context["results"]
    assert [o.name for o in results["organizations"]] == ["Visa"]
    assert [p.family_name for p in results["people"]] == ["Visakhan"]
    assert [p.name for p in results["projects"]] == ["Visa pilot project"]
    assert "Acme" in response.text
    assert "Mastercard" not in response.text


def test_every_page_has_the_language_switch_and_the_navigation(client, staff_user, world):
    client.force_login(staff_user)
    english(client)

    for url in PAGES:
        text = client.get(url).text
        assert 'action="/i18n/setlang/"' in text, url
        assert "Log a meeting" in text and "Search" in text, url


def test_pages_work_without_javascript(client, staff_user, world):
    client.force_login(staff_user)

    for url in PAGES:
        text = client.get(url).text
        # The only scripts are the choosers', on forms that work without them.
        scripts = text.count("<script")
        assert scripts == text.count('<script src="/static/crm/chooser.js" defer>') + text.count(
            '<script src="/static/crm/choose.js" defer>'
        ), url


# The number of queries does not grow with the rows shown.


def test_dashboard_queries_do_not_grow_with_rows(client, coordinator):
    def add(count):
        for _ in range(count):
            late(coordinator, organization=factories.OrganizationFactory())
            partnership = factories.PartnershipFactory(owner=coordinator, contact_cadence_days=5)
            meeting(partnership.organization)

    client.force_login(coordinator)
    # The first visit creates the user's calendar address, once.
    client.get("/")
    add(3)
    few = count_queries(client, "/?scope=team")
    add(27)
    many = count_queries(client, "/?scope=team")

    assert many == few
    assert len(client.get("/?scope=team").context["quiet"].partnerships) == 30


def test_organization_page_queries_do_not_grow_with_rows(client, staff_user, coordinator):
    organization = factories.OrganizationFactory(slug="org")
    from crm import services

    def add(count):
        for _ in range(count):
            partnership = factories.PartnershipFactory(organization=organization, owner=staff_user)
            meeting(organization)
            factories.AffiliationFactory(organization=organization)
            follow_up = late(staff_user, organization=organization, project=partnership.project)
            services.follow_up_complete(
                follow_up=late(staff_user, organization=organization), by=coordinator, note="ok"
            )
            follow_up.person = factories.PersonFactory()
            follow_up.save()
            services.partnership_change_stage(
                partnership=partnership, to_stage="exploring", by=coordinator
            )

    client.force_login(staff_user)
    add(3)
    few = count_queries(client, "/organizations/org/")
    add(27)
    many = count_queries(client, "/organizations/org/")

    assert many == few
    assert len(client.get("/organizations/org/").context["timeline"]) == 30 * 5


def test_project_page_queries_do_not_grow_with_rows(client, staff_user):
    project = factories.ProjectFactory(code="hub", lead=staff_user)

    def add(count):
        for _ in range(count):
            partnership = factories.PartnershipFactory(project=project, owner=staff_user)
            meeting(partnership.organization)
            late(staff_user, project=project, organization=partnership.organization)

    client.force_login(staff_user)
    add(3)
    few = count_queries(client, "/projects/hub/")
    add(27)
    many = count_queries(client, "/projects/hub/")

    assert many == few


def test_mission_page_queries_do_not_grow_with_rows(client, staff_user):
    mission = factories.MissionFactory(slug="usa", organizer=factories.OrganizationFactory())

    def add(count):
        for _ in range(count):
            MissionMember.objects.create(mission=mission, person=factories.PersonFactory())
            organization = factories.OrganizationFactory()
            interaction = meeting(organization, mission=mission)
            interaction.people.add(factories.PersonFactory())
            late(staff_user, organization=organization, interaction=interaction)

    client.force_login(staff_user)
    add(3)
    few = count_queries(client, "/missions/usa/")
    add(27)
    many = count_queries(client, "/missions/usa/")

    assert many == few


def test_interaction_page_queries_do_not_grow_with_rows(client, staff_user):
    interaction = factories.InteractionFactory(slug="talk")

    def add(count):
        for _ in range(count):
            organization = factories.OrganizationFactory()
            interaction.organizations.add(organization)
            interaction.people.add(factories.PersonFactory())
            interaction.projects.add(factories.ProjectFactory())
            late(staff_user, organization=organization, interaction=interaction)

    client.force_login(staff_user)
    add(3)
    few = count_queries(client, "/interactions/talk/")
    add(27)
    many = count_queries(client, "/interactions/talk/")

    assert many == few


def test_log_form_and_search_queries_do_not_grow_with_rows(client, staff_user):
    def add(count):
        for _ in range(count):
            factories.AffiliationFactory(
                organization__name="Visa branch", person__family_name="Visa"
            )
            factories.ProjectFactory(name="Visa project")

    client.force_login(staff_user)
    add(3)
    few = [count_queries(client, url) for url in ("/interactions/new/", "/search/?q=visa")]
    add(22)
    many = [count_queries(client, url) for url in ("/interactions/new/", "/search/?q=visa")]

    assert many == few


def test_long_lists_show_fifty_follow_ups_and_link_to_the_rest(client, coordinator):
    organization = factories.OrganizationFactory(slug="org")
    project = factories.ProjectFactory(code="hub")
    for _ in range(53):
        late(coordinator, organization=organization, project=project)
    client.force_login(coordinator)
    changelist = reverse("admin:crm_followup_changelist")

    pages = {
        "/?scope=team": f"{changelist}?deadline=overdue",
        "/": f"assignee__id__exact={coordinator.pk}",
        "/organizations/org/": f"{changelist}?status__in=open%2Cin_progress%2Cwaiting"
        f"&amp;organization__id__exact={organization.pk}",
        "/projects/hub/": f"project__id__exact={project.pk}",
    }
    for url, link in pages.items():
        response = client.get(url)
        assert response.text.count('class="follow-up is-late"') == 50, url
        assert 'class="count">53<' in response.text, url
        assert "3 more…" in response.text or "3 de plus…" in response.text, url
        assert link in response.text, url
        # Reassigning is a link to the follow-up's own page: no list of staff per row.
        assert 'name="assignee"' not in response.text, url


def test_the_more_link_finds_the_same_follow_ups_in_the_admin(client, coordinator, staff_user):
    for _ in range(52):
        late(staff_user)
    late(coordinator)
    client.force_login(coordinator)

    group = next(g for g in client.get("/?scope=team").context["groups"] if g.key == "overdue")
    admin_list = client.get(group.more_url)

    assert (group.total, group.more) == (53, 3)
    assert admin_list.status_code == 200
    assert admin_list.context["cl"].result_count == 53


def test_reassigning_from_a_row_opens_the_action_page_with_the_staff_list(
    client, staff_user, coordinator, acting
):
    page = client.get("/organizations/visa/")
    link = f"/follow-ups/{acting.pk}/reassign/?next=/organizations/visa/"

    response = client.get(link)

    assert link.replace("&", "&amp;") in page.text
    assert response.status_code == 200
    assert response.context["form"]["assignee"].value() == staff_user.pk
    assert f'<option value="{coordinator.pk}"' in response.text


def test_the_pages_read_the_one_clock(client, staff_user):
    # pages_today put the clock on TODAY; moving it moves what the pages call late.
    late(staff_user, title="Late one")
    client.force_login(staff_user)

    def groups():
        return {g.key: [f.title for f in g.follow_ups] for g in client.get("/").context["groups"]}

    assert groups()["overdue"] == ["Late one"]
    with time_machine.travel(TODAY - timedelta(days=4)):
        assert groups()["overdue"] == []
        assert groups()["week"] == ["Late one"]


def test_dashboard_shows_the_users_private_calendar_address(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/")

    secret = StaffProfile.for_user(staff_user).calendar_secret()
    assert f"http://testserver/calendar/{secret}.ics" in response.text
    assert client.get(f"/calendar/{secret}.ics").status_code == 200


def test_english_pages_write_and_read_dates_day_first(client, staff_user):
    # Issue 19: "12/03/2026" read as 3 December by people who write 12 March.
    from django.utils import formats

    with translation.override("en"):
        assert formats.date_format(date(2026, 3, 12), "SHORT_DATE_FORMAT") == "12/03/2026"
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%d/%m/%Y"


def test_every_page_declares_the_site_s_icon(client, staff_user):
    # Issue 19: no favicon, so a 404 for /favicon.ico on every page.
    from django.contrib.staticfiles import finders

    client.force_login(staff_user)

    for url in ("/", "/admin/"):
        html = client.get(url).content.decode()
        assert '<link rel="icon" href="/static/crm/favicon.svg" type="image/svg+xml">' in html
    assert finders.find("crm/favicon.svg")


def test_an_agreement_without_obligations_says_aucune_in_french(client, coordinator):
    # Issue 19: "Obligations … Aucun." (an obligation is feminine).
    agreement = factories.AgreementFactory(title="Protocole d'accord")
    client.force_login(coordinator)

    html = client.get(agreement.get_absolute_url()).content.decode()

    obligations = html[html.index('id="obligations"') :]
    assert "Aucune." in obligations[: obligations.index("</section>")]


def test_the_next_seven_days_are_not_called_this_week(client, staff_user, pages_today):
    # Issue 19: "À faire cette semaine" listed the next 7 days, past the week's end.
    factories.FollowUpFactory(assignee=staff_user, due_on=TODAY + timedelta(days=6))
    client.force_login(staff_user)

    html = client.get("/").content.decode()

    assert "À faire sous 7 jours" in html
    assert "cette semaine" not in html
