"""The page of background work (issue 23, point 6): what runs, what waits, what failed.

Coordination's: the exports written by jobs, each scheduled command's last
period and how it went, the queue's counts; bounded whatever the volume.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import schedule
from crm.models import ExportJob

LOME = ZoneInfo("Africa/Lome")


def make_job(user, n: int, **fields) -> ExportJob:
    values = {
        "requested_by": user,
        "kind": "xlsx",
        "resource": "follow-ups",
        "permission": "crm.view_followup",
        "filename": f"suivis-{n}.xlsx",
        "total": 200_000,
        **fields,
    }
    return ExportJob.objects.create(**values)


@pytest.fixture
def page(client, coordinator):
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_coordination_sees_what_runs_waits_and_failed(page, coordinator, staff_user, settings):
    settings.CRM_SCHEDULE = True
    make_job(staff_user, 1, status=ExportJob.Status.RUNNING, done=52_000)
    make_job(staff_user, 2, status=ExportJob.Status.FAILED, error="WorkerLost: no progress")
    with time_machine.travel(datetime(2026, 12, 7, 7, 31, tzinfo=LOME), tick=False):
        schedule.queue_due()
        schedule.run_scheduled.call("digests")

    response = page.get("/jobs/")

    text = response.content.decode()
    assert response.status_code == 200
    assert [job.filename for job in response.context["active"]] == ["suivis-1.xlsx"]
    assert "52000 / 200000" in text
    assert [job.filename for job in response.context["failed"]] == ["suivis-2.xlsx"]
    assert "WorkerLost: no progress" in text
    latest = {row.entry.name: row for row in response.context["schedule"]}
    assert latest["digests"].run.slot.date() == date(2026, 12, 7)
    assert latest["retention"].run is None
    assert "send_digests --weekly" in text
    assert "never queued" in text


def test_the_page_is_coordination_s(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/jobs/").status_code == 403


def test_the_page_reads_a_fixed_number_of_statements(page, coordinator, staff_user):
    make_job(staff_user, 0, status=ExportJob.Status.FAILED, error="x")
    page.get("/jobs/")
    with CaptureQueriesContext(connection) as few:
        page.get("/jobs/")
    for n in range(1, 70):
        make_job(staff_user, n, status=ExportJob.Status.FAILED, error="x")
        make_job(staff_user, 100 + n)

    with CaptureQueriesContext(connection) as many:
        response = page.get("/jobs/")

    assert len(many) == len(few)
    assert len(response.context["failed"]) == 50
    assert len(response.context["active"]) == 50
