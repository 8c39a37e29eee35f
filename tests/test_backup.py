"""Dump → fresh database → restore gives back the same rows and ETags (issue 9, item 7).

The dump is the one docs/backup.md recommends; the restore runs in another
process against a database made for it, as an operator would.
"""

import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from crm.api.base import etag_for
from crm.models import FollowUp, LastInteraction, OpenFollowUpCount, Partnership
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

# docs/backup.md: what the dump leaves out (rebuilt by migrate or by the
# database's triggers, or not worth keeping: live sessions and login attempts).
DUMP_OPTIONS = [
    "--natural-foreign",
    "--exclude=contenttypes",
    "--exclude=auth.permission",
    "--exclude=sessions",
    "--exclude=axes",
    "--exclude=crm.lastinteraction",
    "--exclude=crm.openfollowupcount",
]

# The tables the database keeps, as compared after a restore.
TOTALS = ("project", "assignee_key", "status", "total")
LATEST = ("organization", "occurred_on", "date_precision")

# Run in the restored database: its rows, as dumped again, and its ETags.
READ_BACK = """
import json, io
from django.core.management import call_command
from crm.api.base import etag_for
from crm.models import FollowUp, Partnership, LastInteraction, OpenFollowUpCount
from django.contrib.sessions.models import Session
from axes.models import AccessAttempt
out = io.StringIO()
call_command("dumpdata", *%(options)r, stdout=out)
print(json.dumps({
    "dump": json.loads(out.getvalue()),
    "etags": sorted(etag_for(o) for m in (FollowUp, Partnership) for o in m.objects.all()),
    "sessions": Session.objects.count(),
    "attempts": AccessAttempt.objects.count(),
    "kept": [
        sorted(OpenFollowUpCount.objects.values_list(*%(totals)r)),
        sorted(LastInteraction.objects.values_list(*%(latest)r)),
    ],
}, default=str))
"""


def make_records():
    factories.FollowUpFactory.create_batch(3, organization=factories.OrganizationFactory())
    factories.PartnershipFactory.create_batch(2)
    factories.StageChangeFactory()
    factories.AffiliationFactory()
    factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
    # A live session and a failed login: neither belongs in a backup.
    Client().force_login(factories.UserFactory())
    AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.1",
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
        user_agent="",
    )


def dump() -> str:
    out = StringIO()
    call_command("dumpdata", *DUMP_OPTIONS, stdout=out)
    return out.getvalue()


def manage(database_url: str, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def restore_and_read_back(database_url: str, dump_file: Path) -> dict:
    manage(database_url, "migrate", "--no-input", "-v", "0")
    manage(database_url, "loaddata", str(dump_file), "-v", "0")
    out = manage(
        database_url,
        "shell",
        "-c",
        READ_BACK % {"options": DUMP_OPTIONS, "totals": TOTALS, "latest": LATEST},
    )
    return json.loads(out.strip().splitlines()[-1])


def assert_same(original_dump: str, restored: dict) -> None:
    assert restored["dump"] == json.loads(original_dump)
    assert restored["etags"] == sorted(
        etag_for(o) for model in (FollowUp, Partnership) for o in model.objects.all()
    )
    assert (restored["sessions"], restored["attempts"]) == (0, 0)
    # Left out of the dump, the tables the database keeps are rebuilt as the
    # rows they count are loaded.
    kept = [
        sorted(OpenFollowUpCount.objects.values_list(*TOTALS)),
        sorted(LastInteraction.objects.values_list(*LATEST)),
    ]
    assert restored["kept"] == json.loads(json.dumps(kept, default=str))
    assert kept[0] and kept[1]


def test_timestamps_keep_their_microseconds_in_a_dump(db):
    follow_up = factories.FollowUpFactory()

    row = next(r for r in json.loads(dump()) if r["model"] == "crm.followup")

    assert row["fields"]["updated_at"].startswith(
        follow_up.updated_at.isoformat(timespec="microseconds")[:26]
    )


@pytest.mark.django_db
def test_dump_and_restore_into_a_fresh_sqlite_database(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite round trip runs on the SQLite pass")
    make_records()
    dump_file = tmp_path / "backup.json"
    dump_file.write_text(dump())

    restored = restore_and_read_back(f"sqlite:///{tmp_path / 'restored.sqlite3'}", dump_file)

    assert_same(dump_file.read_text(), restored)


@pytest.mark.django_db
def test_dump_and_restore_into_a_fresh_postgresql_database(postgres_only, tmp_path):
    import psycopg

    make_records()
    dump_file = tmp_path / "backup.json"
    dump_file.write_text(dump())
    params = settings.DATABASES["default"]
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = dict(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
        url = f"postgres://{params['USER']}{password}@{server['host']}:{server['port']}/{name}"
        restored = restore_and_read_back(url, dump_file)
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    assert_same(dump_file.read_text(), restored)
