"""The REST API: whole payloads, every filter (a hit and a miss), writes, versions."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.fields import DateTimeField

from crm import services
from crm.managers import PartnershipQuerySet
from crm.models import FollowUp, Interaction, Partnership, StageChange
from tests import factories

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return DateTimeField().to_representation(moment)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# Whole payloads, one resource each.


def test_organization_payload(coordinator_api):
    source = factories.SourceFactory(title="Communiqué")
    org = factories.OrganizationFactory(
        slug="visa", name="Visa", kind="payment_network", city="San Francisco", source=source
    )

    response = coordinator_api.get(f"/api/v1/organizations/{org.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": org.pk,
        "slug": "visa",
        "name": "Visa",
        "short_name": "",
        "kind": "payment_network",
        "kind_label": "Payment network",
        "country": "US",
        "city": "San Francisco",
        "website": "",
        "email_domains": "",
        "description": "",
        "is_identified": True,
        "needs_verification": False,
        "verification_note": "",
        "source": source.pk,
        "source_title": "Communiqué",
        "created_at": iso(org.created_at),
        "updated_at": iso(org.updated_at),
    }


def test_person_payload(coordinator_api):
    person = factories.PersonFactory(
        slug="ada", given_name="Ada", family_name="Lovelace", email="ada@example.org"
    )

    response = coordinator_api.get(f"/api/v1/people/{person.pk}/")

    assert response.json() == {
        "id": person.pk,
        "slug": "ada",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "email": "ada@example.org",
        "phone": "",
        "preferred_language": "",
        "preferred_language_label": "",
        "notes": "",
        "source": None,
        "created_at": iso(person.created_at),
        "updated_at": iso(person.updated_at),
    }


def test_affiliation_payload(coordinator_api):
    affiliation = factories.AffiliationFactory(
        person__given_name="Ada",
        person__family_name="Lovelace",
        organization__name="Visa",
        title="Director",
        start_on="2023-01-01",
    )

    response = coordinator_api.get(f"/api/v1/affiliations/{affiliation.pk}/")

    assert response.json() == {
        "id": affiliation.pk,
        "person": affiliation.person_id,
        "person_name": "Ada Lovelace",
        "organization": affiliation.organization_id,
        "organization_name": "Visa",
        "title": "Director",
        "start_on": "2023-01-01",
        "end_on": None,
        "is_primary": False,
        "is_active": True,
        "source": None,
    }


def test_project_payload(coordinator_api, staff_user):
    staff_user.first_name, staff_user.last_name = "Kossi", "Mensah"
    staff_user.save()
    project = factories.ProjectFactory(code="payments", name="Digital payments", lead=staff_user)

    response = coordinator_api.get(f"/api/v1/projects/{project.pk}/")

    assert response.json() == {
        "id": project.pk,
        "code": "payments",
        "name": "Digital payments",
        "programme": project.programme_id,
        "programme_name": "Compact (test)",
        "sector": "ict",
        "sector_label": "Information and communication technology",
        "status": "formulation",
        "status_label": "In formulation",
        "description": "",
        "lead": staff_user.pk,
        "lead_name": "Kossi Mensah",
        "source": None,
    }


def test_mission_payload(coordinator_api):
    organizer = factories.OrganizationFactory(name="Corporate Council on Africa")
    mission = factories.MissionFactory(
        slug="usa", title="US mission", organizer=organizer, cities="Washington, Los Angeles"
    )

    response = coordinator_api.get(f"/api/v1/missions/{mission.pk}/")

    assert response.json() == {
        "id": mission.pk,
        "slug": "usa",
        "title": "US mission",
        "start_on": "2023-09-01",
        "end_on": "2023-09-30",
        "date_precision": "day",
        "organizer": organizer.pk,
        "organizer_name": "Corporate Council on Africa",
        "cities": "Washington, Los Angeles",
        "objectives": "",
        "description": "",
        "source": None,
    }


def test_interaction_payload(coordinator_api, staff_user):
    org = factories.OrganizationFactory(name="Mastercard")
    project = factories.ProjectFactory()
    person = factories.PersonFactory()
    mission = factories.MissionFactory(title="US mission")
    interaction = factories.InteractionFactory(
        title="CCA session", mission=mission, organizations=[org], city="Washington"
    )
    interaction.projects.set([project])
    interaction.people.set([person])
    interaction.staff.set([staff_user])

    response = coordinator_api.get(f"/api/v1/interactions/{interaction.pk}/")

    assert response.json() == {
        "id": interaction.pk,
        "slug": interaction.slug,
        "kind": "meeting",
        "kind_label": "Meeting",
        "mission": mission.pk,
        "mission_title": "US mission",
        "occurred_on": "2023-09-25",
        "date_precision": "day",
        "starts_at": None,
        "cancelled_at": None,
        "location": None,
        "city": "Washington",
        "title": "CCA session",
        "summary": "",
        "outcome": "",
        "organizations": [org.pk],
        "organization_names": ["Mastercard"],
        "people": [person.pk],
        "staff": [staff_user.pk],
        "projects": [project.pk],
        "source": None,
        "created_by": None,
        "created_at": iso(interaction.created_at),
        "updated_at": iso(interaction.updated_at),
    }


def test_partnership_payload(coordinator_api, staff_user):
    partnership = factories.PartnershipFactory(
        organization__name="Visa", project__name="Digital payments", owner=staff_user
    )
    factories.InteractionFactory(
        occurred_on=date(2023, 9, 25), organizations=[partnership.organization]
    )

    response = coordinator_api.get(f"/api/v1/partnerships/{partnership.pk}/")

    assert response.json() == {
        "id": partnership.pk,
        "organization": partnership.organization_id,
        "organization_name": "Visa",
        "project": partnership.project_id,
        "project_name": "Digital payments",
        "role": "technology_partner",
        "role_label": "Technology partner",
        "stage": "contacted",
        "stage_label": "Contacted",
        "owner": staff_user.pk,
        "owner_name": "staffer",
        "contact_cadence_days": None,
        "last_contact_on": "2023-09-25",
        "contact_due_on": "2023-10-16",
        "notes": "",
        "source": None,
        "created_at": iso(partnership.created_at),
        "updated_at": iso(partnership.updated_at),
    }


def test_stage_change_payload(coordinator_api, staff_user):
    partnership = factories.PartnershipFactory(organization__name="Visa", project__name="Pay")
    change = services.partnership_change_stage(
        partnership=partnership, to_stage="exploring", by=staff_user, note="Call booked."
    )

    response = coordinator_api.get(f"/api/v1/stage-changes/{change.pk}/")

    assert response.json() == {
        "id": change.pk,
        "partnership": partnership.pk,
        "partnership_label": "Visa — Pay",
        "organization": partnership.organization_id,
        "project": partnership.project_id,
        "from_stage": "contacted",
        "from_stage_label": "Contacted",
        "to_stage": "exploring",
        "to_stage_label": "Exploring",
        "changed_at": iso(change.changed_at),
        "changed_by": staff_user.pk,
        "changed_by_name": "staffer",
        "note": "Call booked.",
    }


def test_follow_up_payload(coordinator_api, staff_user, coordinator):
    follow_up = factories.FollowUpFactory(
        title="Send the concept note",
        project__name="Digital payments",
        organization=factories.OrganizationFactory(name="Visa"),
        assignee=staff_user,
        created_by=coordinator,
        due_on=timezone.localdate() - timedelta(days=1),
    )

    response = coordinator_api.get(f"/api/v1/follow-ups/{follow_up.pk}/")

    assert response.json() == {
        "id": follow_up.pk,
        "title": "Send the concept note",
        "description": "",
        "project": follow_up.project_id,
        "project_name": "Digital payments",
        "organization": follow_up.organization_id,
        "organization_name": "Visa",
        "person": None,
        "person_name": None,
        "interaction": None,
        "assignee": staff_user.pk,
        "assignee_name": "staffer",
        "due_on": follow_up.due_on.isoformat(),
        "status": "open",
        "status_label": "Open",
        "priority": "normal",
        "priority_label": "Normal",
        "is_overdue": True,
        "completed_at": None,
        "completed_by": None,
        "completed_by_name": None,
        "completion_note": "",
        "completion_contact": None,
        "is_demo": False,
        "created_by": coordinator.pk,
        "created_at": iso(follow_up.created_at),
        "updated_at": iso(follow_up.updated_at),
    }


def test_list_is_paginated_with_the_whole_payload_of_each_row(coordinator_api):
    org = factories.OrganizationFactory()

    response = coordinator_api.get("/api/v1/organizations/")
    detail = coordinator_api.get(f"/api/v1/organizations/{org.pk}/")

    assert response.json() == {
        "count": 1,
        "count_exact": True,
        "next": None,
        "previous": None,
        "results": [detail.json()],
    }


# Filters: each one finds what it should (hit) and nothing else (miss).


def test_follow_up_filters_hit_and_miss(coordinator_api, coordinator, staff_user):
    today = timezone.localdate()
    org = factories.OrganizationFactory()
    hit = factories.FollowUpFactory(
        assignee=coordinator,
        organization=org,
        due_on=today - timedelta(days=3),
        status=FollowUp.Status.IN_PROGRESS,
    )
    miss = factories.FollowUpFactory(assignee=staff_user, due_on=today + timedelta(days=10))
    cases = {
        "status=in_progress": [hit],
        f"project={hit.project_id}": [hit],
        f"organization={org.pk}": [hit],
        "assignee=me": [hit],
        f"assignee={staff_user.pk}": [miss],
        f"due_before={today.isoformat()}": [hit],
        f"due_after={today.isoformat()}": [miss],
        "overdue=true": [hit],
        "overdue=false": [miss],
        "status=open&status=in_progress": [hit, miss],
    }
    for query, expected in cases.items():
        assert ids(coordinator_api.get(f"/api/v1/follow-ups/?{query}")) == [
            f.pk for f in expected
        ], query


def test_follow_up_updated_since_filter_hit_and_miss(coordinator_api):
    old = factories.FollowUpFactory()
    FollowUp.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=30))
    recent = factories.FollowUpFactory()
    since = (timezone.now() - timedelta(days=1)).isoformat()

    response = coordinator_api.get("/api/v1/follow-ups/", {"updated_since": since})

    assert ids(response) == [recent.pk]


def test_overdue_excludes_completed(coordinator_api, staff_user):
    follow_up = factories.FollowUpFactory(due_on=timezone.localdate() - timedelta(days=3))
    services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Done.")

    assert ids(coordinator_api.get("/api/v1/follow-ups/?overdue=true")) == []


def test_partnership_filters_hit_and_miss(coordinator_api, coordinator):
    hit = factories.PartnershipFactory(owner=coordinator, stage=Partnership.Stage.EXPLORING)
    miss = factories.PartnershipFactory(stage=Partnership.Stage.ACTIVE)
    # Stale: no contact since it was recorded 100 days ago (exploring: 21 days).
    Partnership.objects.filter(pk=hit.pk).update(created_at=timezone.now() - timedelta(days=100))
    cases = {
        f"project={hit.project_id}": [hit],
        "stage=exploring": [hit],
        "owner=me": [hit],
        f"owner={coordinator.pk}": [hit],
        "stale=true": [hit],
        "stale=false": [miss],
    }
    for query, expected in cases.items():
        response = coordinator_api.get(f"/api/v1/partnerships/?{query}")
        assert sorted(ids(response)) == sorted(p.pk for p in expected), query


def test_stale_filter_is_the_querysets_stale(coordinator_api, monkeypatch, pages_today):
    stale = factories.PartnershipFactory()
    Partnership.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=100))
    fresh = factories.PartnershipFactory()
    on = pages_today
    calls = []
    original = PartnershipQuerySet.stale

    def spy(queryset, *, today):
        calls.append(today)
        return original(queryset, today=today)

    monkeypatch.setattr(PartnershipQuerySet, "stale", spy)

    assert ids(coordinator_api.get("/api/v1/partnerships/?stale=true")) == [stale.pk]
    assert ids(coordinator_api.get("/api/v1/partnerships/?stale=false")) == [fresh.pk]
    assert calls == [on, on]


def test_organization_filters_hit_and_miss(coordinator_api):
    hit = factories.OrganizationFactory(
        name="Visa", kind="payment_network", country="US", is_identified=True
    )
    miss = factories.OrganizationFactory(
        name="Incubators (not named)", kind="incubator", country="TG", is_identified=False
    )
    cases = {
        "kind=payment_network": [hit],
        "country=us": [hit],
        "is_identified=true": [hit],
        "is_identified=false": [miss],
        "q=vis": [hit],
        "q=incub": [miss],
    }
    for query, expected in cases.items():
        response = coordinator_api.get(f"/api/v1/organizations/?{query}")
        assert ids(response) == [o.pk for o in expected], query


def test_interaction_filters_hit_and_miss(coordinator_api):
    org = factories.OrganizationFactory()
    project = factories.ProjectFactory()
    mission = factories.MissionFactory()
    hit = factories.InteractionFactory(
        mission=mission, organizations=[org], occurred_on=date(2023, 9, 25)
    )
    hit.projects.set([project])
    miss = factories.InteractionFactory(
        organizations=[factories.OrganizationFactory()], occurred_on=date(2024, 2, 1)
    )
    cases = {
        f"mission={mission.pk}": [hit],
        f"organization={org.pk}": [hit],
        f"project={project.pk}": [hit],
        "date_after=2023-09-01&date_before=2023-09-30": [hit],
        "date_after=2024-01-01": [miss],
    }
    for query, expected in cases.items():
        response = coordinator_api.get(f"/api/v1/interactions/?{query}")
        assert ids(response) == [i.pk for i in expected], query


def test_ordering(coordinator_api):
    later = factories.FollowUpFactory(due_on="2026-03-01")
    sooner = factories.FollowUpFactory(due_on="2026-02-01")

    assert ids(coordinator_api.get("/api/v1/follow-ups/?ordering=due_on")) == [
        sooner.pk,
        later.pk,
    ]
    assert ids(coordinator_api.get("/api/v1/follow-ups/?ordering=-due_on")) == [
        later.pk,
        sooner.pk,
    ]


@pytest.mark.parametrize(
    "query",
    [
        "follow-ups/?due_before=yesterday",
        "follow-ups/?overdue=perhaps",
        "follow-ups/?assignee=someone",
        "follow-ups/?status=finished",
        "follow-ups/?updated_since=last-week",
        "organizations/?kind=bank",
        "partnerships/?stale=maybe",
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(coordinator_api, query):
    response = coordinator_api.get(f"/api/v1/{query}")

    assert response.status_code == 400
    name = query.split("?")[1].split("=")[0]
    assert name in response.json()


# Pages.


def test_page_size_is_bounded(coordinator_api):
    factories.OrganizationFactory.create_batch(3)

    response = coordinator_api.get("/api/v1/organizations/?page_size=2")
    assert len(response.json()["results"]) == 2

    from crm.api.pagination import PageNumberPagination

    assert PageNumberPagination.page_size == 50
    assert PageNumberPagination.max_page_size == 500


def test_page_size_above_the_maximum_is_cut_to_500(coordinator_api, settings):
    from crm.api.pagination import PageNumberPagination

    paginator = PageNumberPagination()

    class Request:
        query_params = {"page_size": "100000"}

    assert paginator.get_page_size(Request()) == 500


def test_updated_since_pages_follow_a_cursor_in_order_of_change(coordinator_api):
    first, second, third = factories.FollowUpFactory.create_batch(3)
    now = timezone.now()
    for offset, follow_up in enumerate([second, third, first]):
        FollowUp.objects.filter(pk=follow_up.pk).update(
            updated_at=now - timedelta(minutes=10 - offset)
        )
    since = (now - timedelta(hours=1)).isoformat()

    page = coordinator_api.get("/api/v1/follow-ups/", {"updated_since": since, "page_size": 2})
    body = page.json()
    assert "count" not in body
    assert [row["id"] for row in body["results"]] == [second.pk, third.pk]

    page = coordinator_api.get(body["next"])
    assert [row["id"] for row in page.json()["results"]] == [first.pk]
    assert page.json()["next"] is None


# Writes go through the same rules as the admin and the pages.


def test_creating_a_follow_up_records_who_created_it(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    project = factories.ProjectFactory()

    response = api_client.post(
        "/api/v1/follow-ups/",
        {"title": "Call Visa", "project": project.pk, "due_on": "2026-02-01", "assignee": "me"},
    )
    assert response.status_code == 400  # "me" is for filters; writes take ids.

    response = api_client.post(
        "/api/v1/follow-ups/",
        {"title": "Call Visa", "project": project.pk, "due_on": "2026-02-01"},
    )

    assert response.status_code == 201, response.content
    follow_up = FollowUp.objects.get(pk=response.json()["id"])
    assert follow_up.created_by == staff_user
    assert follow_up.history.latest().history_user == staff_user


@pytest.mark.parametrize("who", ["reader", "no_role", "inactive"])
def test_only_staff_members_may_be_given_a_follow_up(coordinator_api, reader, who):
    assignee = {
        "reader": reader,
        "no_role": factories.UserFactory(),
        "inactive": factories.UserFactory(is_active=False, is_superuser=True),
    }[who]
    project = factories.ProjectFactory()

    response = coordinator_api.post(
        "/api/v1/follow-ups/",
        {
            "title": "Call Visa",
            "project": project.pk,
            "due_on": "2026-02-01",
            "assignee": assignee.pk,
        },
    )

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
    assert not FollowUp.objects.exists()


def test_only_staff_members_may_own_a_partnership(coordinator_api, reader, staff_user):
    partnership = factories.PartnershipFactory()

    url = f"/api/v1/partnerships/{partnership.pk}/assign-owner/"
    refused = coordinator_api.post(url, {"owner": reader.pk})
    accepted = coordinator_api.post(url, {"owner": staff_user.pk})

    assert refused.status_code == 400
    assert list(refused.json()) == ["owner"]
    assert accepted.status_code == 200, accepted.content
    partnership.refresh_from_db()
    assert partnership.owner == staff_user


@pytest.mark.parametrize("present", ["reader", "role_less"])
def test_only_staff_members_are_recorded_as_staff_present(
    coordinator_api, reader, staff_user, present
):
    refused = reader if present == "reader" else factories.UserFactory(username="outsider")
    organization = factories.OrganizationFactory()
    posted = {
        "kind": "meeting",
        "occurred_on": "2023-09-25",
        "title": "Call",
        "organizations": [organization.pk],
    }

    response = coordinator_api.post(
        "/api/v1/interactions/", {**posted, "staff": [staff_user.pk, refused.pk]}
    )
    accepted = coordinator_api.post("/api/v1/interactions/", {**posted, "staff": [staff_user.pk]})

    assert response.status_code == 400
    assert list(response.json()) == ["staff"]
    assert accepted.status_code == 201, accepted.content
    assert list(Interaction.objects.get().staff.all()) == [staff_user]


def test_creating_a_follow_up_goes_through_the_service(
    coordinator_api, coordinator, staff_user, django_capture_on_commit_callbacks, mailoutbox
):
    project = factories.ProjectFactory()
    posted = {
        "title": "Call Visa",
        "project": project.pk,
        "due_on": "2026-02-01",
        "assignee": staff_user.pk,
    }

    with (
        mock.patch(
            "crm.api.follow_ups.services.follow_up_create", wraps=services.follow_up_create
        ) as create,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = coordinator_api.post("/api/v1/follow-ups/", posted)

    assert response.status_code == 201, response.content
    assert create.call_count == 1
    assert create.call_args.kwargs["by"] == coordinator
    follow_up = FollowUp.objects.get(pk=response.json()["id"])
    assert response.json() == coordinator_api.get(f"/api/v1/follow-ups/{follow_up.pk}/").json()
    assert (follow_up.created_by, follow_up.history.latest().history_user) == (
        coordinator,
        coordinator,
    )
    assert [message.to for message in mailoutbox] == [[staff_user.email]]


def test_a_follow_up_the_service_refuses_is_a_400_naming_the_field(coordinator_api):
    project = factories.ProjectFactory()
    refusal = DjangoValidationError({"due_on": ["Not on that day."]})

    with mock.patch("crm.api.follow_ups.services.follow_up_create", side_effect=refusal):
        response = coordinator_api.post(
            "/api/v1/follow-ups/", {"title": "Call", "project": project.pk, "due_on": "2026-02-01"}
        )

    assert response.status_code == 400
    assert response.json() == {"due_on": ["Not on that day."]}
    assert not FollowUp.objects.exists()


def test_done_cannot_be_set_directly(coordinator_api):
    follow_up = factories.FollowUpFactory()

    response = coordinator_api.patch(f"/api/v1/follow-ups/{follow_up.pk}/", {"status": "done"})

    assert response.status_code == 400
    assert "status" in response.json()
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN


def test_completing_needs_a_note(coordinator_api):
    follow_up = factories.FollowUpFactory()

    response = coordinator_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {"note": ""})

    assert response.status_code == 400
    assert "note" in response.json()


def test_completing_records_the_note_and_who(coordinator_api, coordinator):
    follow_up = factories.FollowUpFactory()

    response = coordinator_api.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/", {"note": "Sent."}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert response.json()["completion_note"] == "Sent."
    assert response.json()["completed_by"] == coordinator.pk
    again = coordinator_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {"note": "x"})
    assert again.status_code == 400
    assert "status" in again.json()


def test_reopening_a_done_follow_up_clears_its_completion(coordinator_api, coordinator):
    follow_up = factories.FollowUpFactory()
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Sent.")

    response = coordinator_api.post(
        f"/api/v1/follow-ups/{follow_up.pk}/reopen/", {"reason": "They wrote back."}
    )

    assert response.status_code == 200, response.content
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.completed_at) == (FollowUp.Status.OPEN, None)


def test_stage_is_not_written_directly(coordinator_api):
    partnership = factories.PartnershipFactory()

    response = coordinator_api.patch(
        f"/api/v1/partnerships/{partnership.pk}/", {"stage": "active"}
    )

    assert response.status_code == 400
    assert "stage" in response.json()


def test_change_stage_records_the_move(coordinator_api, coordinator):
    partnership = factories.PartnershipFactory()

    response = coordinator_api.post(
        f"/api/v1/partnerships/{partnership.pk}/change-stage/",
        {"stage": "exploring", "note": "First call."},
    )

    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "exploring"
    change = StageChange.objects.get(partnership=partnership)
    assert (change.from_stage, change.to_stage, change.changed_by, change.note) == (
        "contacted",
        "exploring",
        coordinator,
        "First call.",
    )


def test_change_stage_to_the_same_stage_is_a_400(coordinator_api):
    partnership = factories.PartnershipFactory()

    response = coordinator_api.post(
        f"/api/v1/partnerships/{partnership.pk}/change-stage/", {"stage": "contacted"}
    )

    assert response.status_code == 400
    assert "stage" in response.json()


def test_creating_a_partnership_records_its_first_stage(coordinator_api, coordinator):
    organization = factories.OrganizationFactory(name="Visa")
    project = factories.ProjectFactory(name="Digital payments")

    response = coordinator_api.post(
        "/api/v1/partnerships/",
        {
            "organization": organization.pk,
            "project": project.pk,
            "role": "funder",
            "stage": "contacted",
        },
    )

    assert response.status_code == 201, response.content
    partnership = Partnership.objects.get()
    assert response.json() == {
        "id": partnership.pk,
        "organization": organization.pk,
        "organization_name": "Visa",
        "project": project.pk,
        "project_name": "Digital payments",
        "role": "funder",
        "role_label": "Funder",
        "stage": "contacted",
        "stage_label": "Contacted",
        "owner": None,
        "owner_name": None,
        "contact_cadence_days": None,
        "last_contact_on": None,
        "contact_due_on": None,
        "notes": "",
        "source": None,
        "created_at": iso(partnership.created_at),
        "updated_at": iso(partnership.updated_at),
    }
    change = StageChange.objects.get()
    assert (change.partnership, change.from_stage, change.to_stage, change.changed_by) == (
        partnership,
        "",
        "contacted",
        coordinator,
    )
    assert partnership.history.get().history_user == coordinator


def test_a_partnership_refused_by_the_service_is_a_400_with_field_errors(coordinator_api):
    organization, project = factories.OrganizationFactory(), factories.ProjectFactory()
    refusal = DjangoValidationError({"role": ["Not this role."]})

    with mock.patch("crm.api.partnerships.services.partnership_create", side_effect=refusal):
        response = coordinator_api.post(
            "/api/v1/partnerships/",
            {"organization": organization.pk, "project": project.pk, "role": "funder"},
        )

    assert response.status_code == 400
    assert response.json() == {"role": ["Not this role."]}


def test_a_second_partnership_for_the_same_pair_is_a_400(coordinator_api):
    partnership = factories.PartnershipFactory()

    response = coordinator_api.post(
        "/api/v1/partnerships/",
        {
            "organization": partnership.organization_id,
            "project": partnership.project_id,
            "role": "funder",
        },
    )

    assert response.status_code == 400


def test_an_affiliation_ending_before_it_starts_is_a_400(coordinator_api):
    person = factories.PersonFactory()
    org = factories.OrganizationFactory()

    response = coordinator_api.post(
        "/api/v1/affiliations/",
        {
            "person": person.pk,
            "organization": org.pk,
            "title": "Director",
            "start_on": "2024-01-01",
            "end_on": "2023-01-01",
        },
    )

    assert response.status_code == 400
    assert "end_on" in response.json() or "non_field_errors" in response.json()


def test_creating_an_interaction_goes_through_the_service(coordinator_api, coordinator):
    org = factories.OrganizationFactory()

    response = coordinator_api.post(
        "/api/v1/interactions/",
        {"kind": "call", "occurred_on": "2026-01-10", "title": "Call", "organizations": [org.pk]},
    )

    assert response.status_code == 201, response.content
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.created_by == coordinator
    assert list(interaction.organizations.all()) == [org]
    empty = coordinator_api.post(
        "/api/v1/interactions/",
        {"kind": "call", "occurred_on": "2026-01-10", "title": "Call", "organizations": []},
    )
    assert empty.status_code == 400


def test_a_failed_interaction_update_changes_nothing(coordinator_api, staff_user):
    before, after = factories.OrganizationFactory(), factories.OrganizationFactory()
    interaction = factories.InteractionFactory(title="Call", organizations=[before])
    person = factories.PersonFactory()
    # The third of the four sets (organisations, people, staff, projects) fails.
    failing_set = mock.patch.object(
        Interaction.staff.related_manager_cls, "set", side_effect=RuntimeError("boom")
    )

    with failing_set, pytest.raises(RuntimeError):
        coordinator_api.patch(
            f"/api/v1/interactions/{interaction.pk}/",
            {
                "title": "Renamed",
                "organizations": [after.pk],
                "people": [person.pk],
                "staff": [staff_user.pk],
            },
        )

    interaction.refresh_from_db()
    assert interaction.title == "Call"
    assert list(interaction.organizations.all()) == [before]
    assert not interaction.people.exists()
    assert not interaction.staff.exists()


def test_deleting_a_record_with_history_is_a_409(coordinator_api):
    org = factories.OrganizationFactory()
    factories.PartnershipFactory(organization=org)

    response = coordinator_api.delete(f"/api/v1/organizations/{org.pk}/")

    assert response.status_code == 409


# Versions: ETag and If-Match on follow-ups and partnerships.


@pytest.mark.parametrize("resource", ["follow-ups", "partnerships"])
def test_stale_if_match_is_a_412_and_changes_nothing(coordinator_api, resource):
    obj = (
        factories.FollowUpFactory(title="Old")
        if resource == "follow-ups"
        else factories.PartnershipFactory(notes="Old")
    )
    field = "title" if resource == "follow-ups" else "notes"
    url = f"/api/v1/{resource}/{obj.pk}/"
    etag = coordinator_api.get(url)["ETag"]
    assert etag.startswith('"')

    first = coordinator_api.patch(url, {field: "Mine"}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert first["ETag"] != etag
    second = coordinator_api.patch(url, {field: "Theirs"}, HTTP_IF_MATCH=etag)

    assert second.status_code == 412
    obj.refresh_from_db()
    assert getattr(obj, field) == "Mine"


def test_current_if_match_and_no_if_match_are_accepted(coordinator_api):
    follow_up = factories.FollowUpFactory()
    url = f"/api/v1/follow-ups/{follow_up.pk}/"

    etag = coordinator_api.get(url)["ETag"]
    assert coordinator_api.patch(url, {"title": "A"}, HTTP_IF_MATCH=etag).status_code == 200
    assert coordinator_api.patch(url, {"title": "B"}).status_code == 200
    assert (
        coordinator_api.put(
            url,
            {"title": "C", "project": follow_up.project_id, "due_on": follow_up.due_on},
            HTTP_IF_MATCH=etag,
        ).status_code
        == 412
    )


def test_stale_if_match_on_complete_is_a_412(coordinator_api):
    follow_up = factories.FollowUpFactory()
    url = f"/api/v1/follow-ups/{follow_up.pk}/"
    etag = coordinator_api.get(url)["ETag"]
    coordinator_api.patch(url, {"title": "Changed"})

    response = coordinator_api.post(f"{url}complete/", {"note": "Done."}, HTTP_IF_MATCH=etag)

    assert response.status_code == 412
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN


# Queries: a list costs the same number of queries whatever the page size.

LIST_MAKERS = {
    "organizations": lambda: factories.OrganizationFactory(source=factories.SourceFactory()),
    "people": factories.PersonFactory,
    "affiliations": factories.AffiliationFactory,
    "projects": factories.ProjectFactory,
    "missions": lambda: factories.MissionFactory(organizer=factories.OrganizationFactory()),
    "interactions": lambda: _interaction(),
    "partnerships": factories.PartnershipFactory,
    "follow-ups": lambda: factories.FollowUpFactory(
        organization=factories.OrganizationFactory(), person=factories.PersonFactory()
    ),
    "stage-changes": factories.StageChangeFactory,
}


def _interaction():
    interaction = factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
    interaction.projects.set([factories.ProjectFactory()])
    interaction.people.set([factories.PersonFactory()])
    return interaction


@pytest.mark.parametrize("resource", LIST_MAKERS)
def test_list_queries_do_not_grow_with_the_page_size(coordinator_api, resource):
    make = LIST_MAKERS[resource]
    for _ in range(5):
        make()
    coordinator_api.get(f"/api/v1/{resource}/")  # Warm caches (content types, perms).
    with CaptureQueriesContext(connection) as five:
        response = coordinator_api.get(f"/api/v1/{resource}/")
    assert len(response.json()["results"]) == 5
    for _ in range(45):
        make()
    with CaptureQueriesContext(connection) as fifty:
        response = coordinator_api.get(f"/api/v1/{resource}/")
    assert len(response.json()["results"]) == 50

    assert len(fifty) == len(five), [q["sql"] for q in fifty.captured_queries]


@pytest.mark.parametrize("resource", LIST_MAKERS)
def test_the_browsable_api_renders_each_list_and_record(client, coordinator, resource):
    obj = LIST_MAKERS[resource]()
    client.force_login(coordinator)

    listing = client.get(f"/api/v1/{resource}/", HTTP_ACCEPT="text/html")
    detail = client.get(f"/api/v1/{resource}/{obj.pk}/", HTTP_ACCEPT="text/html")

    assert listing.status_code == 200
    assert listing["Content-Type"].startswith("text/html")
    assert detail.status_code == 200


def test_a_partial_update_answers_every_field_even_an_empty_related_name(coordinator_api):
    mission = factories.MissionFactory(organizer=None)

    response = coordinator_api.patch(
        f"/api/v1/missions/{mission.pk}/", {"title": "Mission à Lomé"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["organizer_name"] is None


def test_an_interaction_takes_its_time_place_and_cancellation_through_the_api(coordinator_api):
    organization = factories.OrganizationFactory()
    posted = {
        "kind": "meeting",
        "occurred_on": "2025-11-05",
        "starts_at": "2025-11-05T14:00:00Z",
        "location": "Microsoft Teams",
        "title": "Call",
        "organizations": [organization.pk],
    }

    created = coordinator_api.post("/api/v1/interactions/", posted)
    wrong_day = coordinator_api.post(
        "/api/v1/interactions/", {**posted, "starts_at": "2025-11-06T09:00:00Z"}
    )

    assert created.status_code == 201, created.content
    assert created.json()["location"] == "Microsoft Teams"
    assert wrong_day.status_code == 400
    assert list(wrong_day.json()) == ["starts_at"]
    url = f"/api/v1/interactions/{created.json()['id']}/"
    cancelled = coordinator_api.patch(url, {"cancelled_at": "2025-11-04T08:00:00Z"})
    assert cancelled.status_code == 200, cancelled.content
    assert Interaction.objects.get().is_cancelled
