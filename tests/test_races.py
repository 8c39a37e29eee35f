"""Edits racing state changes, on PostgreSQL with real threads and connections.

Each round starts two requests at the same instant, each in its own thread and
so on its own database connection. Whatever order the database lets them land
in, nothing that answered "done" may be undone afterwards: no completion lost,
no stage reverted. The loser of a race either applies its own change beside
the winner's (it wrote only what it changed) or is refused (409, 412, a form
error), never silently writes the old values back.
"""

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import FollowUp, Partnership, StageChange
from tests import factories
from tests.test_admin import form_data

ROUNDS = 20

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*requests):
    """Run each callable in its own thread, all released at once; return their results."""
    barrier = threading.Barrier(len(requests), timeout=30)
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            barrier.wait()
            results[index] = request()
        except Exception as error:  # reported by the assertions of the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def superuser(postgres_only):
    # A transactional test starts from an emptied database: no role groups.
    return factories.UserFactory(username="chief", is_superuser=True)


def api_as(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def complete_url(follow_up) -> str:
    return f"/api/v1/follow-ups/{follow_up.pk}/complete/"


def test_patching_the_title_never_undoes_a_completion(superuser):
    editor, finisher = api_as(superuser), api_as(superuser)
    lost, refused = [], 0
    for round_ in range(ROUNDS):
        follow_up = factories.FollowUpFactory(title="Call Visa")
        url = f"/api/v1/follow-ups/{follow_up.pk}/"
        patch, complete = race(
            partial(editor.patch, url, {"title": f"Call Visa ({round_})"}),
            partial(finisher.post, f"{url}complete/", {"note": "Called them."}),
        )
        assert complete.status_code == 200, complete.content
        assert patch.status_code in (200, 409, 412), patch.content
        refused += patch.status_code != 200
        follow_up.refresh_from_db()
        if (follow_up.status, follow_up.completion_note) != (FollowUp.Status.DONE, "Called them."):
            lost.append(round_)
        elif patch.status_code == 200:
            assert follow_up.title == f"Call Visa ({round_})"

    assert lost == [], f"{len(lost)} of {ROUNDS} completions lost"


def test_patching_with_if_match_racing_complete_is_refused_or_applied_beside_it(superuser):
    editor, finisher = api_as(superuser), api_as(superuser)
    lost = []
    for round_ in range(ROUNDS):
        follow_up = factories.FollowUpFactory(title="Call Visa")
        url = f"/api/v1/follow-ups/{follow_up.pk}/"
        etag = editor.get(url)["ETag"]
        patch, complete = race(
            partial(editor.patch, url, {"title": "Call Visa back"}, HTTP_IF_MATCH=etag),
            partial(finisher.post, f"{url}complete/", {"note": "Called them."}),
        )
        assert complete.status_code == 200, complete.content
        follow_up.refresh_from_db()
        if follow_up.status != FollowUp.Status.DONE:
            lost.append(round_)
        # The edit was made on the version before the completion, or refused.
        assert patch.status_code in (200, 412), patch.content
        assert (follow_up.title == "Call Visa back") == (patch.status_code == 200)

    assert lost == [], f"{len(lost)} of {ROUNDS} completions lost"


def test_patching_the_notes_never_reverts_a_stage_change(superuser):
    editor, mover = api_as(superuser), api_as(superuser)
    reverted = []
    for round_ in range(ROUNDS):
        partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)
        url = f"/api/v1/partnerships/{partnership.pk}/"
        patch, move = race(
            partial(editor.patch, url, {"notes": f"Round {round_}"}),
            partial(mover.post, f"{url}change-stage/", {"stage": "exploring"}),
        )
        assert move.status_code == 200, move.content
        assert patch.status_code in (200, 409, 412), patch.content
        partnership.refresh_from_db()
        logged = StageChange.objects.filter(partnership=partnership).latest("id").to_stage
        if partnership.stage != logged or partnership.stage != Partnership.Stage.EXPLORING:
            reverted.append(round_)
        elif patch.status_code == 200:
            assert partnership.notes == f"Round {round_}"

    assert reverted == [], f"{len(reverted)} of {ROUNDS} stage changes reverted"


def test_an_admin_save_never_undoes_a_completion(superuser):
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(superuser)
    finisher = api_as(superuser)
    lost, refused = [], 0
    for round_ in range(ROUNDS):
        follow_up = factories.FollowUpFactory(title="Call Visa")
        change_url = reverse("admin:crm_followup_change", args=[follow_up.pk])
        # The coordinator opened the form before the race; the save moves the
        # priority, a field the completion does not touch.
        data = {**form_data(admin.get(change_url)), "priority": FollowUp.Priority.HIGH}
        save, complete = race(
            partial(admin.post, change_url, data),
            partial(finisher.post, complete_url(follow_up), {"note": "Called them."}),
        )
        assert complete.status_code == 200, complete.content
        follow_up.refresh_from_db()
        if follow_up.status != FollowUp.Status.DONE or not follow_up.completion_note:
            lost.append(round_)
        if save.status_code == 200:
            # Refused: the form says why and keeps what was typed.
            refused += 1
            assert save.context["adminform"].form.errors, save.content
            assert follow_up.priority == FollowUp.Priority.NORMAL
        else:
            assert save.status_code == 302
            assert follow_up.priority == FollowUp.Priority.HIGH

    assert lost == [], f"{len(lost)} of {ROUNDS} completions lost ({refused} saves refused)"


def test_two_coordinators_adding_the_same_partnership_get_a_form_error(superuser):
    first, second = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="en")
    first.force_login(superuser)
    second.force_login(superuser)
    add_url = reverse("admin:crm_partnership_add")
    for _round in range(ROUNDS):
        organization, project = factories.OrganizationFactory(), factories.ProjectFactory()
        data = {
            **form_data(first.get(add_url)),
            "organization": organization.pk,
            "project": project.pk,
            "role": Partnership.Role.FUNDER,
            "stage": Partnership.Stage.CONTACTED,
        }
        answers = race(
            partial(first.post, add_url, data),
            partial(second.post, add_url, data),
        )
        assert not any(isinstance(answer, Exception) for answer in answers), answers
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 302], codes
        refused = next(answer for answer in answers if answer.status_code == 200)
        assert refused.context["adminform"].form.errors
        assert Partnership.objects.filter(organization=organization, project=project).count() == 1
        assert StageChange.objects.filter(partnership__organization=organization).count() == 1


def test_a_staff_page_snooze_racing_complete_never_undoes_it(superuser):
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(superuser)
    finisher = api_as(superuser)
    for _round in range(ROUNDS):
        follow_up = factories.FollowUpFactory(title="Call Visa")
        snooze_url = reverse("follow-up-snooze", args=[follow_up.pk])
        shown = page.get(snooze_url).context["form"]
        data = {
            "due_on": (follow_up.due_on + timedelta(days=30)).isoformat(),
            "reason": "They asked for time.",
            "version": shown["version"].value(),
        }
        snooze, complete = race(
            partial(page.post, snooze_url, data),
            partial(finisher.post, complete_url(follow_up), {"note": "Called them."}),
        )
        follow_up.refresh_from_db()
        done = complete.status_code == 200
        snoozed = snooze.status_code == 302
        # One wins; the other is told, never silently applied over it.
        assert done or snoozed
        assert follow_up.status == (FollowUp.Status.DONE if done else FollowUp.Status.OPEN)
        if not snoozed:
            assert snooze.context["form"].errors
