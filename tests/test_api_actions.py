"""API: state changes only through actions, with permissions, checks, history and If-Match."""

from datetime import date, timedelta

import pytest
from django.db.models.signals import pre_save
from django.utils import timezone

from crm import services
from crm.models import FollowUp, Partnership, StageChange
from tests import factories

pytestmark = pytest.mark.django_db


def follow_up_url(follow_up, action: str = "") -> str:
    return f"/api/v1/follow-ups/{follow_up.pk}/" + (f"{action}/" if action else "")


def partnership_url(partnership, action: str = "") -> str:
    return f"/api/v1/partnerships/{partnership.pk}/" + (f"{action}/" if action else "")


# PUT and PATCH leave the state alone.


@pytest.mark.parametrize(
    ("field", "value", "action"),
    [
        ("status", "waiting", "mark-waiting"),
        ("status", "done", "complete"),
        ("status", "cancelled", "cancel"),
        ("assignee", "staff", "reassign"),
        ("due_on", "2030-01-01", "snooze"),
    ],
)
def test_patching_a_follow_up_s_state_is_a_400_naming_the_action(
    coordinator_api, staff_user, field, value, action
):
    follow_up = factories.FollowUpFactory(title="Call Visa")
    value = staff_user.pk if value == "staff" else value

    response = coordinator_api.patch(follow_up_url(follow_up), {field: value, "title": "Other"})

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert action in response.json()[field][0]
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.status, follow_up.assignee) == (
        "Call Visa",
        FollowUp.Status.OPEN,
        None,
    )


@pytest.mark.parametrize(
    ("field", "action"), [("stage", "change-stage"), ("owner", "assign-owner")]
)
def test_patching_a_partnership_s_state_is_a_400_naming_the_action(
    coordinator_api, staff_user, field, action
):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    value = "active" if field == "stage" else staff_user.pk

    response = coordinator_api.patch(partnership_url(partnership), {field: value})

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert action in response.json()[field][0]
    partnership.refresh_from_db()
    assert (partnership.stage, partnership.owner) == (Partnership.Stage.CONTACTED, None)


def test_sending_the_state_unchanged_is_accepted(coordinator_api, staff_user):
    follow_up = factories.FollowUpFactory(assignee=staff_user, due_on=date(2026, 3, 1))
    payload = {
        "title": "Call Visa back",
        "project": follow_up.project_id,
        "status": "open",
        "assignee": staff_user.pk,
        "due_on": "2026-03-01",
    }

    response = coordinator_api.put(follow_up_url(follow_up), payload)

    assert response.status_code == 200, response.content
    follow_up.refresh_from_db()
    assert follow_up.title == "Call Visa back"


def test_a_patch_writes_only_the_fields_it_sends(coordinator_api):
    follow_up = factories.FollowUpFactory(title="Call Visa", description="Old")

    def described_meanwhile(sender, instance, **kwargs):
        # Someone else's save lands after this request read the follow-up.
        if instance.pk == follow_up.pk:
            FollowUp.objects.filter(pk=instance.pk).update(description="Theirs")

    pre_save.connect(described_meanwhile, sender=FollowUp)
    try:
        response = coordinator_api.patch(follow_up_url(follow_up), {"title": "Mine"})
    finally:
        pre_save.disconnect(described_meanwhile, sender=FollowUp)

    assert response.status_code == 200
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.description) == ("Mine", "Theirs")


def test_a_patch_that_changes_nothing_writes_nothing(coordinator_api):
    follow_up = factories.FollowUpFactory(title="Call Visa")
    etag = coordinator_api.get(follow_up_url(follow_up))["ETag"]

    response = coordinator_api.patch(follow_up_url(follow_up), {"title": "Call Visa"})

    assert response.status_code == 200
    assert response["ETag"] == etag
    assert follow_up.history.count() == 1


def test_the_etag_is_the_version_edit_forms_carry(coordinator_api):
    from crm.versions import version_of

    follow_up = factories.FollowUpFactory()

    assert coordinator_api.get(follow_up_url(follow_up))["ETag"] == f'"{version_of(follow_up)}"'


# The actions: who may, what they check, what they record.

ACTIONS = {
    "complete": {"note": "Sent the deck."},
    "reassign": {"assignee": "staff"},
    "snooze": {"due_on": str(timezone.localdate() + timedelta(days=30)), "reason": "On leave"},
    "mark-waiting": {},
    "cancel": {"reason": "No longer needed"},
}


def _payload(action: str, staff_user) -> dict:
    return {
        key: (staff_user.pk if value == "staff" else value)
        for key, value in ACTIONS[action].items()
    }


@pytest.mark.parametrize("action", [*ACTIONS, "reopen"])
def test_a_read_only_user_may_not_act_on_a_follow_up(api_client, reader, staff_user, action):
    follow_up = factories.FollowUpFactory()
    api_client.force_authenticate(reader)
    payload = {"reason": "Again"} if action == "reopen" else _payload(action, staff_user)

    response = api_client.post(follow_up_url(follow_up, action), payload)

    assert response.status_code == 403
    assert follow_up.history.count() == 1


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_act_on_a_follow_up_and_history_says_who(api_client, staff_user, action):
    follow_up = factories.FollowUpFactory(due_on=timezone.localdate())
    api_client.force_authenticate(staff_user)

    response = api_client.post(follow_up_url(follow_up, action), _payload(action, staff_user))

    assert response.status_code == 200, response.content
    assert response["ETag"]
    latest = follow_up.history.first()
    assert latest.history_user == staff_user
    expected_reason = {"snooze": "On leave", "cancel": "No longer needed"}.get(action)
    assert latest.history_change_reason == expected_reason


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("reassign", {}, "assignee"),
        ("snooze", {"due_on": "2020-01-01", "reason": "Late"}, "due_on"),
        ("snooze", {"due_on": "2099-12-31"}, "reason"),
        ("snooze", {"due_on": "2099-12-31", "reason": "x" * 101}, "reason"),
        ("cancel", {"reason": "  "}, "reason"),
        ("reopen", {"reason": "Again"}, "status"),
    ],
)
def test_an_action_refused_is_a_400_naming_the_field(coordinator_api, action, payload, field):
    follow_up = factories.FollowUpFactory()

    response = coordinator_api.post(follow_up_url(follow_up, action), payload)

    assert response.status_code == 400
    assert field in response.json()
    assert follow_up.history.count() == 1


@pytest.mark.parametrize("action", ["reassign", "snooze", "mark-waiting", "cancel"])
def test_acting_on_closed_work_is_a_400(coordinator_api, coordinator, staff_user, action):
    follow_up = factories.FollowUpFactory()
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Done.")

    response = coordinator_api.post(follow_up_url(follow_up, action), _payload(action, staff_user))

    assert response.status_code == 400
    assert "status" in response.json()
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE


@pytest.mark.parametrize("action", [*ACTIONS, "reopen"])
def test_a_stale_if_match_on_an_action_is_a_412(coordinator_api, coordinator, staff_user, action):
    follow_up = factories.FollowUpFactory()
    if action == "reopen":
        services.follow_up_cancel(follow_up=follow_up, by=coordinator, reason="Not needed")
    etag = coordinator_api.get(follow_up_url(follow_up))["ETag"]
    coordinator_api.patch(follow_up_url(follow_up), {"title": "Changed meanwhile"})
    payload = {"reason": "Again"} if action == "reopen" else _payload(action, staff_user)

    stale = coordinator_api.post(follow_up_url(follow_up, action), payload, HTTP_IF_MATCH=etag)
    fresh = coordinator_api.post(
        follow_up_url(follow_up, action),
        payload,
        HTTP_IF_MATCH=coordinator_api.get(follow_up_url(follow_up))["ETag"],
    )

    assert stale.status_code == 412
    assert fresh.status_code == 200, fresh.content


def test_reassign_tells_the_new_assignee(
    coordinator_api, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    follow_up = factories.FollowUpFactory(title="Call Visa")

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_api.post(
            follow_up_url(follow_up, "reassign"), {"assignee": staff_user.pk, "reason": "Leave"}
        )

    assert response.status_code == 200
    assert response.json()["assignee"] == staff_user.pk
    assert [message.to for message in mailoutbox] == [[staff_user.email]]
    assert "Call Visa" in mailoutbox[0].subject
    assert follow_up.history.first().history_change_reason == "Leave"


def test_reopen_clears_the_completion_and_keeps_it_in_history(coordinator_api, coordinator):
    follow_up = factories.FollowUpFactory()
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Sent the deck.")

    response = coordinator_api.post(
        follow_up_url(follow_up, "reopen"), {"reason": "They never got it"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["completed_at"], body["completed_by"]) == ("open", None, None)
    assert body["completion_note"] == ""
    reopened, completed = follow_up.history.all()[:2]
    assert reopened.history_change_reason == "They never got it"
    assert (completed.status, completed.completion_note) == ("done", "Sent the deck.")


def test_snooze_moves_the_due_date(coordinator_api):
    follow_up = factories.FollowUpFactory(due_on=date(2026, 1, 1))
    new_date = timezone.localdate() + timedelta(days=10)

    response = coordinator_api.post(
        follow_up_url(follow_up, "snooze"), {"due_on": new_date, "reason": "On leave"}
    )

    assert response.status_code == 200
    assert response.json()["due_on"] == new_date.isoformat()


# Partnerships.


def test_a_read_only_user_may_not_move_or_give_away_a_partnership(api_client, reader):
    partnership = factories.PartnershipFactory()
    api_client.force_authenticate(reader)

    moved = api_client.post(partnership_url(partnership, "change-stage"), {"stage": "active"})
    given = api_client.post(partnership_url(partnership, "assign-owner"), {"owner": None})

    assert (moved.status_code, given.status_code) == (403, 403)


def test_assign_owner_records_who_and_why_and_tells_the_owner(
    api_client, staff_user, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    partnership = factories.PartnershipFactory()
    api_client.force_authenticate(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            partnership_url(partnership, "assign-owner"),
            {"owner": coordinator.pk, "reason": "Back from leave"},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == coordinator.pk
    latest = partnership.history.first()
    assert (latest.history_user, latest.history_change_reason) == (staff_user, "Back from leave")
    assert [message.to for message in mailoutbox] == [[coordinator.email]]
    assert str(partnership.organization) in mailoutbox[0].body


def test_assign_owner_to_nobody(coordinator_api, staff_user):
    partnership = factories.PartnershipFactory(owner=staff_user)

    response = coordinator_api.post(
        partnership_url(partnership, "assign-owner"), {"owner": None}, format="json"
    )

    assert response.status_code == 200
    partnership.refresh_from_db()
    assert partnership.owner is None


@pytest.mark.parametrize(
    ("action", "payload"),
    [("change-stage", {"stage": "exploring"}), ("assign-owner", {"owner": None})],
)
def test_a_stale_if_match_on_a_partnership_action_is_a_412(coordinator_api, action, payload):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    etag = coordinator_api.get(partnership_url(partnership))["ETag"]
    coordinator_api.patch(partnership_url(partnership), {"notes": "Changed meanwhile"})

    response = coordinator_api.post(
        partnership_url(partnership, action), payload, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 412
    partnership.refresh_from_db()
    assert partnership.stage == Partnership.Stage.CONTACTED
    assert not StageChange.objects.filter(partnership=partnership).exists()


@pytest.mark.postgres
def test_an_action_takes_one_row_lock(coordinator_api, postgres_only):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    follow_up = factories.FollowUpFactory()
    etag = coordinator_api.get(follow_up_url(follow_up))["ETag"]

    with CaptureQueriesContext(connection) as queries:
        response = coordinator_api.post(
            follow_up_url(follow_up, "complete"), {"note": "Done."}, HTTP_IF_MATCH=etag
        )

    assert response.status_code == 200
    # If-Match is checked by the service, under the lock it takes to write.
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locks) == 1, locks


def test_every_action_is_in_the_openapi_schema(coordinator_api):
    paths = coordinator_api.get("/api/v1/schema/?format=json").json()["paths"]

    for action in ["complete", "reassign", "snooze", "mark-waiting", "cancel", "reopen"]:
        operation = paths[f"/api/v1/follow-ups/{{id}}/{action}/"]["post"]
        assert "If-Match" in {p["name"] for p in operation["parameters"]}, action
        assert {"200", "400", "412"} <= set(operation["responses"]), action
    for action in ["change-stage", "assign-owner"]:
        operation = paths[f"/api/v1/partnerships/{{id}}/{action}/"]["post"]
        assert "If-Match" in {p["name"] for p in operation["parameters"]}, action


def test_a_partnership_created_for_someone_else_tells_its_owner(
    coordinator_api, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    organization, project = factories.OrganizationFactory(), factories.ProjectFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_api.post(
            "/api/v1/partnerships/",
            {
                "organization": organization.pk,
                "project": project.pk,
                "role": "funder",
                "owner": staff_user.pk,
            },
        )

    assert response.status_code == 201, response.content
    assert [message.to for message in mailoutbox] == [[staff_user.email]]
