"""Scheduled work, run by the job workers instead of cron (issue 23, point 4).

Each worker (``manage.py run_jobs``) looks at ``SCHEDULE`` once a minute, in
its housekeeping. An entry whose period has begun, at an hour and on a day it
runs, is claimed by inserting a ``ScheduledRun`` (name, start of the period):
of any number of workers on any number of hosts, exactly one INSERT goes
through, and that worker queues the command as a task, which the next free
worker runs. So each command runs once per period, whichever host is up, and
a worker killed after the claim leaves the task queued for another.

The commands keep their own guards (the digests' claims, the locks of
``fetch_mail`` and ``apply_retention``): a cron line left in place as well
does the work once, not twice. ``CRM_SCHEDULE=0`` turns the schedule off (cron
then runs the commands, docs/deploy.md).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from crm.models import ScheduledRun

logger = logging.getLogger(__name__)

EVERY_DAY = frozenset(range(7))


@dataclass(frozen=True)
class Scheduled:
    """A command run once per period, at the local hours and on the weekdays given."""

    name: str
    command: tuple[str, ...]
    period: timedelta
    hours: frozenset[int] = frozenset(range(24))
    weekdays: frozenset[int] = EVERY_DAY  # Monday is 0

    def slot(self, now: datetime) -> datetime | None:
        """Return the start of the period ``now`` falls in, or None when it does not run then."""
        local = timezone.localtime(now)
        if local.hour not in self.hours or local.weekday() not in self.weekdays:
            return None
        if self.period >= timedelta(days=1):
            return local.replace(hour=0, minute=0, second=0, microsecond=0)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        periods = (local - day) // self.period
        return day + periods * self.period


# What docs/deploy.md used to give cron, in the unit's time zone.
SCHEDULE = (
    Scheduled("fetch_mail", ("fetch_mail",), timedelta(minutes=5)),
    # Hourly through the working day: the first run sends the day's digests,
    # the others what failed or was added since.
    Scheduled("digests", ("send_digests",), timedelta(hours=1), frozenset(range(7, 19))),
    Scheduled(
        "weekly_summary",
        ("send_digests", "--weekly"),
        timedelta(hours=1),
        frozenset(range(7, 11)),
        frozenset({0}),
    ),
    Scheduled("retention", ("apply_retention",), timedelta(days=1), frozenset({3})),
    Scheduled("sessions", ("clearsessions",), timedelta(days=1), frozenset({3})),
    # Login records (django-axes) older than 90 days, on Sundays.
    Scheduled(
        "login_records",
        ("axes_reset_logs", "--age", "90"),
        timedelta(days=1),
        frozenset({3}),
        frozenset({6}),
    ),
)
BY_NAME = {entry.name: entry for entry in SCHEDULE}


def queue_due(*, now: datetime | None = None) -> list[str]:
    """Claim and queue every entry whose period has begun and is not claimed yet.

    Return the names queued by this call (none when another worker was first).
    """
    if not settings.CRM_SCHEDULE:
        return []
    now = now or timezone.now()
    queued = []
    for entry in SCHEDULE:
        slot = entry.slot(now)
        if slot is None:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(name=entry.name, slot=slot, queued_at=now)
                result = run_scheduled.enqueue(entry.name)
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # Another worker, here or on another host, has it.
        queued.append(entry.name)
    return queued


@task()
def run_scheduled(name: str) -> None:
    """The task: run the scheduled command ``name`` (its output goes to the worker's log)."""
    entry = BY_NAME[name]
    logger.info("Scheduled %s: %s", name, " ".join(entry.command))
    call_command(*entry.command)


@dataclass
class Latest:
    """A scheduled command's last period queued, and how its task stands."""

    entry: Scheduled
    run: ScheduledRun | None
    # The task's status (django-tasks: READY, RUNNING, FAILED, SUCCESSFUL), "" if gone.
    status: str = ""
    error: str = ""


def latest() -> list[Latest]:
    """Return each entry's last queued period with its task's status (three queries).

    The last period per name comes from the (name, slot) unique index,
    however many claims the mailbox's five minutes have piled up since a
    weekly one.
    """
    slots = dict(ScheduledRun.objects.order_by().values_list("name").annotate(last=Max("slot")))
    wanted = Q()
    for name, slot in slots.items():
        wanted |= Q(name=name, slot=slot)
    last = {run.name: run for run in ScheduledRun.objects.filter(wanted)} if slots else {}
    tasks = {
        str(result.id): result
        for result in DBTaskResult.objects.filter(
            id__in=[run.task_id for run in last.values() if run.task_id]
        ).only("id", "status", "exception_class_path")
    }
    found = []
    for entry in SCHEDULE:
        run = last.get(entry.name)
        result = tasks.get(run.task_id) if run else None
        found.append(
            Latest(
                entry,
                run,
                status=result.status if result else "",
                error=result.exception_class_path if result else "",
            )
        )
    return found


def purge(*, now: datetime | None = None, keep: timedelta = timedelta(days=30)) -> int:
    """Delete the claims of periods long past; return how many."""
    now = now or timezone.now()
    deleted, _by_model = ScheduledRun.objects.filter(slot__lt=now - keep).delete()
    return deleted
