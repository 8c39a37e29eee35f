"""Dump → fresh database → restore gives back the same rows, ETags and files (issues 9, 17).

The dump and the copy of the document store are the ones docs/backup.md
recommends; the restore runs in another process against a database and a
document folder made for it, as an operator would, and every document's file
is checked against the SHA-256 kept on its row.
"""

import hashlib
import json
import os
import shlex
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from crm import services
from crm.api.base import etag_for
from crm.models import Document, FollowUp, LastInteraction, OpenFollowUpCount, Partnership
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

# docs/backup.md: the document store, copied after the dump and put back in an
# empty folder before the restored copy serves.
BACKUP_FILES = "tar --create --gzip --file={archive} --directory={root} ."
RESTORE_FILES = "tar --extract --gzip --file={archive} --directory={root}"

# The tables the database keeps, as compared after a restore.
TOTALS = ("project", "assignee_key", "status", "total")
LATEST = ("organization", "occurred_on", "date_precision")

# Run in the restored database: its rows, as dumped again, and its ETags.
READ_BACK = """
import hashlib, json, io
from django.core.management import call_command
from crm.api.base import etag_for
from crm.models import Document, FollowUp, Partnership, LastInteraction, OpenFollowUpCount
from django.contrib.sessions.models import Session
from axes.models import AccessAttempt
out = io.StringIO()
call_command("dumpdata", *%(options)r, stdout=out)
print(json.dumps({
    "dump": json.loads(out.getvalue()),
    "etags": sorted(etag_for(o) for m in (FollowUp, Partnership) for o in m.objects.all()),
    "sessions": Session.objects.count(),
    "attempts": AccessAttempt.objects.count(),
    # Every document's file as the restored copy reads it from its own store.
    "files": {
        str(d.pk): hashlib.sha256(d.file.open("rb").read()).hexdigest()
        for d in Document.objects.all()
    },
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
    # A document in two versions: two files in the store.
    first = services.document_create(
        by=None,
        file=ContentFile(b"%PDF-1.4\n% draft\n%%EOF\n", name="mou.pdf"),
        title="MoU",
        organization=factories.OrganizationFactory(),
    )
    services.document_create(
        by=None,
        file=ContentFile(b"%PDF-1.4\n% signed\n%%EOF\n", name="mou.pdf"),
        title="MoU, signed",
        previous_version=first,
    )


def dump() -> str:
    out = StringIO()
    call_command("dumpdata", *DUMP_OPTIONS, stdout=out)
    return out.getvalue()


def run(command: str, **values: Path) -> None:
    """Run one of docs/backup.md's shell commands with its paths filled in."""
    words = [word.format(**values) for word in shlex.split(command)]
    result = subprocess.run(words, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def back_up_files(documents_root: Path, tmp_path: Path) -> Path:
    archive = tmp_path / "documents.tar.gz"
    run(BACKUP_FILES, archive=archive, root=documents_root)
    return archive


def manage(
    database_url: str, *args: str, stdin: str | None = None, documents_root: Path | None = None
) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    if documents_root is not None:
        env["CRM_DOCUMENTS_ROOT"] = str(documents_root)
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


def restore_and_read_back(database_url: str, dump_file: Path, archive: Path) -> dict:
    documents_root = archive.parent / "restored-documents"
    documents_root.mkdir()
    manage(database_url, "migrate", "--no-input", "-v", "0")
    manage(database_url, "loaddata", str(dump_file), "-v", "0")
    run(RESTORE_FILES, archive=archive, root=documents_root)
    verified = manage(database_url, "verify_documents", documents_root=documents_root)
    assert "every file is in the store, intact" in verified
    out = manage(
        database_url,
        "shell",
        "-c",
        READ_BACK % {"options": DUMP_OPTIONS, "totals": TOTALS, "latest": LATEST},
        documents_root=documents_root,
    )
    return json.loads(out.strip().splitlines()[-1])


def assert_same(original_dump: str, restored: dict) -> None:
    assert restored["dump"] == json.loads(original_dump)
    assert restored["etags"] == sorted(
        etag_for(o) for model in (FollowUp, Partnership) for o in model.objects.all()
    )
    assert (restored["sessions"], restored["attempts"]) == (0, 0)
    # Every file came back, byte for byte: the SHA-256 kept on its row.
    assert restored["files"] == {
        str(pk): sha256 for pk, sha256 in Document.objects.values_list("pk", "sha256")
    }
    assert len(restored["files"]) == 2
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
def test_dump_and_restore_into_a_fresh_sqlite_database(tmp_path, private_documents):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite round trip runs on the SQLite pass")
    make_records()
    dump_file = tmp_path / "backup.json"
    dump_file.write_text(dump())
    archive = back_up_files(private_documents, tmp_path)

    restored = restore_and_read_back(
        f"sqlite:///{tmp_path / 'restored.sqlite3'}", dump_file, archive
    )

    assert_same(dump_file.read_text(), restored)


@pytest.mark.django_db
def test_dump_and_restore_into_a_fresh_postgresql_database(
    postgres_only, tmp_path, private_documents
):
    import psycopg

    make_records()
    dump_file = tmp_path / "backup.json"
    dump_file.write_text(dump())
    archive = back_up_files(private_documents, tmp_path)
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
        restored = restore_and_read_back(url, dump_file, archive)
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    assert_same(dump_file.read_text(), restored)


# The document store alone: what `verify_documents` says after a restore.


@pytest.fixture
def two_documents(db):
    organization = factories.OrganizationFactory()
    return [
        services.document_create(
            by=None,
            file=ContentFile(b"%PDF-1.4\n% " + name.encode() + b"\n%%EOF\n", name=f"{name}.pdf"),
            title=name,
            organization=organization,
        )
        for name in ("kept", "lost")
    ]


def test_verify_documents_passes_when_every_file_is_intact(two_documents):
    out = StringIO()

    call_command("verify_documents", stdout=out)

    assert out.getvalue() == "2 documents: every file is in the store, intact.\n"


def test_verify_documents_names_each_missing_or_changed_file_and_fails(two_documents):
    kept, lost = two_documents
    lost.file.storage.delete(lost.file.name)
    with open(kept.file.path, "ab") as changed:
        changed.write(b"tampered")
    errors = StringIO()

    with pytest.raises(CommandError, match="2 of 2 documents have no intact file"):
        call_command("verify_documents", stdout=StringIO(), stderr=errors)

    expected_sha256 = hashlib.sha256(Path(kept.file.path).read_bytes()).hexdigest()
    assert errors.getvalue().splitlines() == [
        f"Document {kept.pk}: its file {kept.file.name} has SHA-256 {expected_sha256}, "
        f"not {kept.sha256}.",
        f"Document {lost.pk}: its file {lost.file.name} is missing.",
    ]


def test_the_backup_procedure_keeps_the_document_store_with_the_database():
    procedure = (ROOT / "docs" / "backup.md").read_text()

    # The commands this module runs are the ones the operator is told to run.
    for command in (BACKUP_FILES, RESTORE_FILES):
        assert command.split("{archive}")[0] in procedure, command
    assert "python manage.py verify_documents" in procedure
    assert "the database, and nothing else" not in procedure
