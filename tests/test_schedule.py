"""Scheduled work through the job runner (issue 23, point 4): each command once per period.

The workers' housekeeping queues the scheduled commands (the mailbox, the
digests, the weekly summary, the retention run) as their periods begin; a
period is claimed in the database, so that two workers, on one host or two,
queue it once. Time is moved with time-machine.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from crm import jobs, schedule
from crm.models import PersonRead, ScheduledRun
from tests import factories

LOME = ZoneInfo("Africa/Lome")
MONDAY = date(2026, 12, 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOME)


@pytest.fixture
def scheduled(settings, db):
    settings.CRM_SCHEDULE = True


def queued_names() -> list[str]:
    return sorted(result.args_kwargs["args"][0] for result in DBTaskResult.objects.all())


def test_each_command_runs_at_its_hours_and_days():
    by_name = schedule.BY_NAME
    # The mailbox every five minutes, day and night.
    assert by_name["fetch_mail"].slot(at(MONDAY, 2, 7)) == at(MONDAY, 2, 5)
    # The digests hourly through the working day only.
    assert by_name["digests"].slot(at(MONDAY, 7, 59)) == at(MONDAY, 7)
    assert by_name["digests"].slot(at(MONDAY, 19, 0)) is None
    # The weekly summary on Monday mornings only.
    assert by_name["weekly_summary"].slot(at(MONDAY, 9, 30)) == at(MONDAY, 9)
    assert by_name["weekly_summary"].slot(at(MONDAY + timedelta(days=1), 9, 30)) is None
    # The retention run once a day, from 03:00.
    assert by_name["retention"].slot(at(MONDAY, 3, 40)) == at(MONDAY, 0)
    assert by_name["retention"].slot(at(MONDAY, 4, 0)) is None
    # Old login records on Sundays.
    sunday = MONDAY - timedelta(days=1)
    assert by_name["login_records"].slot(at(sunday, 3, 10)) == at(sunday, 0)
    assert by_name["login_records"].slot(at(MONDAY, 3, 10)) is None


def test_a_period_is_queued_once_however_many_workers_look(scheduled):
    with time_machine.travel(at(MONDAY, 7, 31), tick=False):
        first = schedule.queue_due()
        # A second worker, on this host or another, a moment later.
        second = schedule.queue_due()

    assert first == ["fetch_mail", "digests", "weekly_summary"]
    assert second == []
    assert queued_names() == ["digests", "fetch_mail", "weekly_summary"]
    assert ScheduledRun.objects.count() == 3

    # The next five minutes: the mailbox again, nothing else.
    with time_machine.travel(at(MONDAY, 7, 35), tick=False):
        assert schedule.queue_due() == ["fetch_mail"]
    # The next hour: the digests and the weekly summary's next try as well.
    with time_machine.travel(at(MONDAY, 8, 0), tick=False):
        assert schedule.queue_due() == ["fetch_mail", "digests", "weekly_summary"]
    # Night: the mailbox, the retention run and the old sessions.
    with time_machine.travel(at(MONDAY + timedelta(days=1), 3, 2), tick=False):
        assert schedule.queue_due() == ["fetch_mail", "retention", "sessions"]


def test_the_worker_runs_what_the_schedule_queued(transactional_db, settings):
    """The housekeeping of run_jobs queues, and the same worker runs, the period's commands.

    Committed as in production: the mailbox's lock opens a connection of its own.
    """
    settings.CRM_SCHEDULE = True
    settings.CRM_ACCESS_LOG_RETENTION_DAYS = 30
    with time_machine.travel(at(MONDAY, 3, 10) - timedelta(days=40), tick=False):
        PersonRead.objects.create(what=PersonRead.What.PAGE, person_id_number=1)

    with time_machine.travel(at(MONDAY, 3, 10), tick=False):
        call_command("run_jobs", batch=True, startup_delay=False, reload=False, verbosity=0)

    assert queued_names() == ["fetch_mail", "retention", "sessions"]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    # The retention run did its work: the old read is gone.
    assert not PersonRead.objects.exists()


def test_the_digests_go_out_through_the_schedule(scheduled, coordinator):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    factories.FollowUpFactory(assignee=coordinator, due_on=MONDAY - timedelta(days=3))

    with time_machine.travel(at(MONDAY, 7, 5), tick=False):
        schedule.queue_due()
        schedule.run_scheduled.call("digests")

    assert [message.to for message in mail.outbox] == [["coordinator@example.org"]]


def test_no_schedule_when_cron_runs_the_commands(db, settings):
    settings.CRM_SCHEDULE = False

    with time_machine.travel(at(MONDAY, 7, 31), tick=False):
        assert schedule.queue_due() == []
        jobs.housekeeping()

    assert not DBTaskResult.objects.exists()
    assert not ScheduledRun.objects.exists()


def test_old_claims_are_deleted(scheduled):
    with time_machine.travel(at(MONDAY, 2, 0) - timedelta(days=40), tick=False):
        schedule.queue_due()
    with time_machine.travel(at(MONDAY, 2, 0), tick=False):
        schedule.queue_due()
        assert schedule.purge() == 1
    assert list(ScheduledRun.objects.values_list("slot", flat=True)) == [at(MONDAY, 2, 0)]


def test_a_scheduled_command_writes_to_the_worker_s_log(scheduled, caplog):
    with caplog.at_level("INFO", logger="crm.schedule"):
        schedule.run_scheduled.call("sessions")
    assert "Scheduled sessions: clearsessions" in caplog.text


def test_each_command_s_last_period_shows_however_many_came_since(scheduled):
    """A Monday's weekly summary still shows on Wednesday, after 600 claims of the mailbox."""
    with time_machine.travel(at(MONDAY, 9, 0), tick=False):
        schedule.queue_due()
    for n in range(600):
        with time_machine.travel(at(MONDAY, 10, 0) + timedelta(minutes=5 * n), tick=False):
            schedule.queue_due()

    latest = {row.entry.name: row for row in schedule.latest()}

    assert latest["weekly_summary"].run.slot == at(MONDAY, 10)  # its last hour that Monday
    assert latest["weekly_summary"].status == "READY"
    assert latest["fetch_mail"].run.slot == at(MONDAY, 10) + timedelta(minutes=5 * 599)
    assert latest["login_records"].run is None
