"""Retention that runs by itself (issue 20, point 6): each kind of data kept for its period.

People with no contact for CRM_PERSON_RETENTION_YEARS are erased by
``apply_retention``; the officer's digest names them 30 days before; e-mail
bodies and the export and access logs go after theirs. Time is moved with
time-machine, as the days would pass.
"""

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import digests, locks, retention, roles
from crm.management.commands.apply_retention import LOCK_KEY
from crm.models import ExportLog, FollowUp, Person, PersonRead, PrivacyRequest
from tests import factories

LOME = ZoneInfo("Africa/Lome")
MET_ON = date(2023, 9, 26)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOME)


@pytest.fixture
def officer(db):
    roles.sync_role_permissions()
    user = factories.UserFactory(username="dpo", email="dpo@example.org")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    user.groups.add(Group.objects.get(name=roles.DATA_PROTECTION))
    return user


@pytest.fixture
def met_in_2023(db, settings):
    """A person entered and met on 26 September 2023; kept 2 years after."""
    settings.CRM_PERSON_RETENTION_YEARS = 2
    with time_machine.travel(at(MET_ON), tick=False):
        person = factories.PersonFactory(
            slug="ottilie-brandwyn", given_name="Ottilie", family_name="Brandwyn"
        )
        meeting = factories.InteractionFactory(title="Payments pilot", occurred_on=MET_ON)
        meeting.people.add(person)
    return person


def _apply(*args) -> str:
    out = StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()


def test_a_person_s_clock_starts_at_the_last_contact(met_in_2023):
    person = retention.people_kept().get(pk=met_in_2023.pk)
    assert person.kept_from == MET_ON
    assert retention.due_on(person) == date(2025, 9, 27)


def test_later_contacts_and_the_officer_s_review_move_the_clock(met_in_2023):
    later = factories.InteractionFactory(occurred_on=date(2024, 3, 1))
    later.people.add(met_in_2023)
    cancelled = factories.InteractionFactory(occurred_on=date(2025, 1, 1))
    cancelled.people.add(met_in_2023)
    cancelled.cancelled_at = at(date(2024, 12, 1))
    cancelled.save()
    assert retention.people_kept().get(pk=met_in_2023.pk).kept_from == date(2024, 3, 1)

    Person.objects.filter(pk=met_in_2023.pk).update(reviewed_on=date(2024, 6, 30))
    assert retention.people_kept().get(pk=met_in_2023.pk).kept_from == date(2024, 6, 30)


def test_a_person_named_by_open_work_is_not_due(met_in_2023, today):
    follow_up = factories.FollowUpFactory(person=met_in_2023, due_on=date(2023, 10, 1))
    assert not retention.people_due(on=date(2030, 1, 1)).filter(pk=met_in_2023.pk).exists()

    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=FollowUp.Status.DONE,
        completed_at=at(date(2023, 10, 1)),
        completion_note="Sent.",
    )
    assert retention.people_due(on=date(2030, 1, 1)).filter(pk=met_in_2023.pk).exists()


def test_the_digest_warns_the_officer_then_the_run_erases(met_in_2023, officer, coordinator):
    """The issue's test: last contact passes the period; warned 30 days before; dry run; run."""
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    due = date(2025, 9, 27)

    # 31 days before: nothing to say yet.
    with time_machine.travel(at(due - timedelta(days=31)), tick=False):
        digests.run(on=due - timedelta(days=31))
    assert mail.outbox == []

    # 30 days before: the officer's digest names the person and the day; the
    # coordinator who is not the officer hears nothing of it.
    with time_machine.travel(at(due - timedelta(days=30)), tick=False):
        digests.run(on=due - timedelta(days=30))
    assert [message.to for message in mail.outbox] == [["dpo@example.org"]]
    warning = mail.outbox[0]
    assert "Ottilie Brandwyn" in warning.body
    assert "27 septembre 2025" in warning.body
    assert reverse("person", args=["ottilie-brandwyn"]) in warning.body

    # The last day kept: the dry run lists nobody, nothing changes.
    with time_machine.travel(at(due - timedelta(days=1)), tick=False):
        assert "Ottilie" not in _apply("--dry-run")

    # The first day due: the dry run names the person and erases nothing.
    with time_machine.travel(at(due), tick=False):
        out = _apply("--dry-run")
        assert "Ottilie Brandwyn: no contact since 2023-09-26" in out
        assert "Dry run: nothing changed." in out
        assert Person.objects.get(pk=met_in_2023.pk).erased_at is None

        out = _apply()
    assert f"#{met_in_2023.pk}: no contact since 2023-09-26" in out
    erased = Person.objects.get(pk=met_in_2023.pk)
    assert erased.erased_at is not None
    assert erased.full_name == f"Personne effacée n° {met_in_2023.pk}"
    request = PrivacyRequest.objects.get(person_id_number=met_in_2023.pk)
    assert request.kind == PrivacyRequest.Kind.ERASURE
    assert request.made_by is None
    assert "Brandwyn" not in request.reason
    assert "2023" in request.reason
    # The meeting stays.
    assert erased.interactions.get().title == "Payments pilot"

    # A second run has nothing left to do.
    with time_machine.travel(at(due + timedelta(days=1)), tick=False):
        assert "People with no contact (2 years): done 0" in _apply()


def test_the_digest_reads_the_people_coming_due_in_one_query(met_in_2023, officer):
    for _n in range(3):
        factories.PersonFactory()
    with CaptureQueriesContext(connection) as few:
        retention.coming_due(on=date(2025, 9, 1))
    for _n in range(20):
        with time_machine.travel(at(MET_ON), tick=False):
            factories.PersonFactory()
    with CaptureQueriesContext(connection) as many:
        people, total = retention.coming_due(on=date(2025, 9, 1))
    assert len(many) == len(few) == 1
    assert total == 21
    assert len(people) == 21


def test_the_run_applies_every_period_and_says_so(db, settings, staff_user):
    settings.CRM_EXPORT_LOG_RETENTION_DAYS = 30
    settings.CRM_ACCESS_LOG_RETENTION_DAYS = 60
    now = at(date(2026, 12, 7))
    with time_machine.travel(now - timedelta(days=45), tick=False):
        ExportLog.objects.create(
            user=staff_user, username="staff", kind="csv", resource="people", row_count=1
        )
        PersonRead.objects.create(what=PersonRead.What.PAGE, person_id_number=1)
    with time_machine.travel(now, tick=False):
        dry = _apply("--dry-run")
        assert "Export log (30 days): would 1" in dry
        assert "Access log (60 days): would 0" in dry
        assert ExportLog.objects.count() == 1
        done = _apply()
    assert "Export log (30 days): done 1" in done
    assert ExportLog.objects.count() == 0
    assert PersonRead.objects.count() == 1


def test_a_run_that_finds_another_running_does_nothing(met_in_2023):
    with time_machine.travel(at(date(2026, 1, 1)), tick=False):
        with locks.exclusive_run("apply_retention", LOCK_KEY) as taken:
            assert taken
            out = _apply()
        assert out == "Another apply_retention is running; nothing done.\n"
        assert Person.objects.get(pk=met_in_2023.pk).erased_at is None


def test_the_officer_sees_who_comes_due_and_others_may_not(
    client, met_in_2023, officer, coordinator
):
    url = reverse("privacy-retention")
    client.force_login(coordinator)
    assert client.get(url).status_code == 403
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(at(date(2025, 7, 15)), tick=False):
        page = client.get(url)
    assert page.status_code == 200
    assert page.context["total"] == 1
    assert "Ottilie Brandwyn" in page.content.decode()
    assert "27 Sep 2025" in page.content.decode()
    with time_machine.travel(at(date(2025, 6, 1)), tick=False):
        assert client.get(url).context["total"] == 0


def test_who_is_due_is_exactly_who_has_no_date_after_the_cutoff(db, settings):
    """The run's filter (nothing on or after the cutoff) agrees with kept_from, one by one."""
    settings.CRM_PERSON_RETENTION_YEARS = 2
    with time_machine.travel(at(date(2020, 1, 1)), tick=False):
        people = [factories.PersonFactory() for _ in range(8)]
    days = [date(2020, 6, 1), date(2023, 1, 1), date(2024, 6, 1), date(2025, 1, 1)]
    for n, person in enumerate(people):
        day = days[n % len(days)]
        if n % 4 == 0:
            factories.InteractionFactory(occurred_on=day).people.add(person)
        elif n % 4 == 1:
            factories.FollowUpFactory(
                person=person,
                due_on=day,
                status=FollowUp.Status.DONE,
                completed_at=at(day),
                completion_note="Done.",
            )
        elif n % 4 == 2:
            Person.objects.filter(pk=person.pk).update(reviewed_on=day)
        # n % 4 == 3: nothing since they were entered.
    for on in (date(2024, 1, 1), date(2025, 6, 1), date(2026, 6, 1), date(2027, 6, 1)):
        cutoff = retention.years_before(on, 2)
        expected = {p.pk for p in retention.people_kept() if p.kept_from < cutoff}
        assert {p.pk for p in retention.people_due(on=on)} == expected, on
