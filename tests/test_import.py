"""Spreadsheet import of organisations and people: all or nothing, by natural key."""

import io
import tempfile
from datetime import timedelta

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from crm.importing import ImportFileError, import_contacts
from crm.models import Affiliation, Organization, PendingImport, Person
from tests import factories

pytestmark = pytest.mark.django_db

ORGS = """slug,name,kind,country,is_identified
visa,Visa,payment_network,US,true
mastercard,Mastercard,payment_network,US,yes
"""

PEOPLE = """slug,given_name,family_name,email,organization,title,start_on,is_primary
ada,Ada,Lovelace,ada@example.org,visa,Director,2023-01-01,true
alan,Alan,Turing,,mastercard,Adviser,,
"""


def run(text: str, *, name: str = "file.csv", dry_run: bool = False, **kwargs):
    return import_contacts(io.BytesIO(text.encode()), filename=name, dry_run=dry_run, **kwargs)


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_organisations_are_created_then_matched_by_slug():
    first = run(ORGS)
    again = run(ORGS)

    assert (first.created, first.updated, first.errors) == (2, 0, [])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Organization.objects.count() == 2
    visa = Organization.objects.get(slug="visa")
    assert (visa.name, visa.kind, visa.country, visa.is_identified) == (
        "Visa",
        "payment_network",
        "US",
        True,
    )


def test_a_changed_cell_updates_the_record():
    run(ORGS)

    result = run(ORGS.replace("Visa,payment", "Visa Inc,payment"))

    assert (result.updated, result.unchanged) == (1, 1)
    assert Organization.objects.get(slug="visa").name == "Visa Inc"


def test_people_come_with_their_affiliations_and_reimport_duplicates_nothing():
    run(ORGS)

    first = run(PEOPLE)
    again = run(PEOPLE)

    assert (first.created, first.affiliations_created) == (2, 2)
    assert (again.created, again.affiliations_created, again.unchanged) == (0, 0, 2)
    assert Person.objects.count() == 2
    affiliation = Affiliation.objects.get(person__slug="ada")
    assert (affiliation.organization.slug, affiliation.title, str(affiliation.start_on)) == (
        "visa",
        "Director",
        "2023-01-01",
    )
    assert affiliation.is_primary


def test_one_bad_row_rejects_the_whole_file_and_names_the_row():
    factories.OrganizationFactory(slug="visa", name="Visa (before)")
    text = ORGS + "bad,Bad,no_such_kind,US,true\nworse,,company,US,perhaps\n"

    result = run(text)

    assert {(error.row, error.column) for error in result.errors} == {
        (4, "kind"),
        (5, "name"),
        (5, "is_identified"),
    }
    assert Organization.objects.count() == 1
    assert Organization.objects.get(slug="visa").name == "Visa (before)"


def test_a_person_at_an_unknown_organisation_is_an_error_naming_the_row():
    run(ORGS)

    result = run(PEOPLE.replace("alan,Alan,Turing,,mastercard", "alan,Alan,Turing,,nowhere"))

    assert [(error.row, error.column) for error in result.errors] == [(3, "organization")]
    assert not Person.objects.exists()


def test_a_database_rule_broken_by_a_row_is_reported_not_raised():
    run(ORGS)
    text = PEOPLE.replace("ada@example.org", "same@example.org").replace(
        "alan,Alan,Turing,,", "alan,Alan,Turing,SAME@example.org,"
    )

    result = run(text)

    assert [error.row for error in result.errors] == [3]
    assert not Person.objects.exists()


def test_a_dry_run_checks_everything_and_saves_nothing():
    result = run(ORGS, dry_run=True)

    assert (result.created, result.errors) == (2, [])
    assert not Organization.objects.exists()


def test_xlsx_is_read_with_typed_cells():
    content = xlsx(
        [
            ["slug", "name", "kind", "is_identified"],
            ["visa", "Visa", "payment_network", True],
        ]
    )

    result = import_contacts(io.BytesIO(content), filename="orgs.xlsx", dry_run=False)

    assert result.created == 1
    assert Organization.objects.get(slug="visa").is_identified


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("slug,name,kind\n", "orgs.txt"),
        ("", "orgs.csv"),
        ("name,kind\nVisa,company\n", "orgs.csv"),
        ("slug,name,kind,colour\nvisa,Visa,company,red\n", "orgs.csv"),
        ("slug,something\nx,y\n", "orgs.csv"),
    ],
)
def test_an_unreadable_file_is_refused_whole(text, name):
    with pytest.raises(ImportFileError):
        run(text, name=name)


def test_a_file_of_the_other_kind_is_refused():
    with pytest.raises(ImportFileError):
        run(ORGS, expect="people")


# The command.


def test_the_command_imports_and_reports(tmp_path, capsys):
    path = tmp_path / "orgs.csv"
    path.write_text(ORGS)

    call_command("import_contacts", str(path))

    assert Organization.objects.count() == 2
    captured = capsys.readouterr()
    assert "2 created" in captured.out
    assert "2/2 rows" in captured.err  # The progress bar.


def test_the_command_dry_run_saves_nothing(tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(ORGS)

    call_command("import_contacts", str(path), "--dry-run", "--no-progress")

    assert not Organization.objects.exists()


def test_the_command_fails_naming_the_rows_and_changes_nothing(tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(ORGS + "bad,Bad,no_such_kind,US,true\n")

    # The command speaks the site's language, whatever an earlier test left active.
    with translation.override("fr"), pytest.raises(CommandError, match=r"ligne 4, kind"):
        call_command("import_contacts", str(path), "--no-progress")

    assert not Organization.objects.exists()


# The admin: upload, preview (dry run), confirm.


def test_the_admin_previews_then_imports(client, coordinator):
    client.force_login(coordinator)
    url = reverse("admin:crm_organization_import")
    assert "import/" in client.get(reverse("admin:crm_organization_changelist")).text

    preview = client.post(url, {"file": SimpleUploadedFile("orgs.csv", ORGS.encode())})

    assert preview.status_code == 200
    assert preview.context["result"].created == 2
    assert not Organization.objects.exists()
    token = preview.context["token"]

    done = client.post(url, {"confirm": token})

    assert done.status_code == 302
    assert Organization.objects.count() == 2
    assert client.post(url, {"confirm": token}).status_code == 403  # Used once.


def test_the_admin_preview_names_bad_rows_and_offers_no_import(client, coordinator):
    client.force_login(coordinator)
    text = ORGS + "bad,Bad,no_such_kind,US,true\n"

    preview = client.post(
        reverse("admin:crm_organization_import"),
        {"file": SimpleUploadedFile("orgs.csv", text.encode())},
    )

    assert "token" not in preview.context
    assert "ligne 4, kind" in preview.text
    assert not Organization.objects.exists()


def test_people_import_in_the_admin(client, coordinator):
    client.force_login(coordinator)
    run(ORGS)
    url = reverse("admin:crm_person_import")

    preview = client.post(url, {"file": SimpleUploadedFile("people.csv", PEOPLE.encode())})
    client.post(url, {"confirm": preview.context["token"]})

    assert Person.objects.count() == 2


def test_read_only_users_cannot_import(client, reader):
    client.force_login(reader)

    response = client.get(reverse("admin:crm_organization_import"))

    assert response.status_code == 403


# Files that are not what they claim: a clear message, never a traceback.


def _in_default_language(message: str) -> str:
    # Admin and command speak the site's language; the test must not care which.
    with translation.override(settings.LANGUAGE_CODE):
        return translation.gettext(message)


NOT_UTF8 = "The file is not in UTF-8. Save the file as “CSV UTF-8” and upload it again."
NOT_XLSX = "This is not a readable XLSX file."
LATIN1_ORGS = "slug,name,kind,country\nsenegal,Société générale,company,FR\n".encode("latin-1")
CORRUPT_XLSX = b"PK\x03\x04 this is not a workbook"


def test_a_latin1_csv_is_refused_with_advice_not_a_decoding_error():
    with pytest.raises(ImportFileError, match="CSV UTF-8"):
        import_contacts(io.BytesIO(LATIN1_ORGS), filename="orgs.csv", dry_run=False)

    assert not Organization.objects.exists()


def test_a_latin1_byte_far_down_a_csv_is_refused_too():
    # The decoding is lazy: the first rows read well, row 1001 does not.
    rows = "".join(f"org-{n},Org {n},company,FR\n" for n in range(1000))
    content = ("slug,name,kind,country\n" + rows).encode() + "x,Café,company,FR\n".encode("cp1252")

    with pytest.raises(ImportFileError, match="CSV UTF-8"):
        import_contacts(io.BytesIO(content), filename="orgs.csv", dry_run=False)

    assert not Organization.objects.exists()


def test_a_csv_the_parser_rejects_is_refused_whole():
    content = b"slug,name,kind\nvisa," + b"V" * 200_000 + b",company\n"  # Over csv's field limit.

    with pytest.raises(ImportFileError):
        import_contacts(io.BytesIO(content), filename="orgs.csv", dry_run=False)

    assert not Organization.objects.exists()


def test_a_corrupt_xlsx_is_refused():
    with pytest.raises(ImportFileError):
        import_contacts(io.BytesIO(CORRUPT_XLSX), filename="orgs.xlsx", dry_run=False)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("orgs.csv", LATIN1_ORGS, NOT_UTF8), ("orgs.xlsx", CORRUPT_XLSX, NOT_XLSX)],
)
def test_the_command_refuses_an_unreadable_file_without_a_traceback(
    tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(CommandError) as raised:
        call_command("import_contacts", str(path))

    assert str(raised.value) == f"{name}: {_in_default_language(message)}"
    assert not Organization.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("orgs.csv", LATIN1_ORGS, NOT_UTF8), ("orgs.xlsx", CORRUPT_XLSX, NOT_XLSX)],
)
def test_the_admin_preview_refuses_an_unreadable_file_with_advice(
    client, coordinator, name, content, message
):
    client.force_login(coordinator)

    preview = client.post(
        reverse("admin:crm_organization_import"), {"file": SimpleUploadedFile(name, content)}
    )

    assert preview.status_code == 200
    assert preview.context["form"].errors == {"file": [_in_default_language(message)]}
    assert "token" not in preview.context
    assert not Organization.objects.exists()


# The previewed file waits in the database, for its uploader only, for a while.


def _preview(client, text: str = ORGS):
    url = reverse("admin:crm_organization_import")
    return client.post(url, {"file": SimpleUploadedFile("orgs.csv", text.encode())})


def test_the_preview_writes_nothing_to_the_servers_disk(
    client, coordinator, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    client.force_login(coordinator)

    _preview(client)

    assert list(tmp_path.iterdir()) == []
    pending = PendingImport.objects.get()
    assert (pending.user, pending.kind, pending.file_name, bytes(pending.content)) == (
        coordinator,
        "organizations",
        "orgs.csv",
        ORGS.encode(),
    )


def test_the_confirmation_may_reach_another_server_and_deletes_the_upload(coordinator):
    # Another server shares only the database: a new session of the same user.
    first, second = Client(), Client()
    first.force_login(coordinator)
    second.force_login(coordinator)
    token = _preview(first).context["token"]

    done = second.post(reverse("admin:crm_organization_import"), {"confirm": token})

    assert done.status_code == 302
    assert Organization.objects.count() == 2
    assert not PendingImport.objects.exists()


def test_only_the_uploader_may_confirm(client, coordinator):
    other = factories.UserFactory(username="other-coordinator")
    other.groups.set(coordinator.groups.all())
    client.force_login(coordinator)
    token = _preview(client).context["token"]
    client.force_login(other)

    refused = client.post(reverse("admin:crm_organization_import"), {"confirm": token})

    assert refused.status_code == 403
    assert not Organization.objects.exists()
    assert PendingImport.objects.filter(pk=token).exists()


def test_a_people_upload_cannot_be_confirmed_as_organisations(client, coordinator):
    run(ORGS)
    client.force_login(coordinator)
    preview = client.post(
        reverse("admin:crm_person_import"),
        {"file": SimpleUploadedFile("people.csv", PEOPLE.encode())},
    )

    refused = client.post(
        reverse("admin:crm_organization_import"), {"confirm": preview.context["token"]}
    )

    assert refused.status_code == 403
    assert not Person.objects.exists()


def test_an_expired_preview_is_not_imported_and_is_deleted(client, coordinator):
    client.force_login(coordinator)
    token = _preview(client).context["token"]
    PendingImport.objects.update(
        created_at=timezone.now() - PendingImport.TTL - timedelta(minutes=1)
    )

    response = client.post(reverse("admin:crm_organization_import"), {"confirm": token})

    assert response.status_code == 302
    assert not Organization.objects.exists()
    assert not PendingImport.objects.exists()


def test_a_new_preview_deletes_the_expired_uploads_of_everyone(client, coordinator):
    other = factories.UserFactory(username="other-coordinator")
    old = PendingImport.objects.create(
        user=other, kind="organizations", file_name="old.csv", content=b"x"
    )
    recent = PendingImport.objects.create(
        user=other, kind="organizations", file_name="recent.csv", content=b"x"
    )
    PendingImport.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - PendingImport.TTL - timedelta(seconds=1)
    )
    client.force_login(coordinator)

    _preview(client)

    assert set(PendingImport.objects.values_list("file_name", flat=True)) == {
        "recent.csv",
        "orgs.csv",
    }
    assert recent.pk in PendingImport.objects.values_list("pk", flat=True)


def test_the_expired_cleanup_is_bounded():
    user = factories.UserFactory()
    PendingImport.objects.bulk_create(
        PendingImport(user=user, kind="people", file_name=f"{n}.csv", content=b"x")
        for n in range(5)
    )
    later = timezone.now() + PendingImport.TTL + timedelta(seconds=1)

    assert PendingImport.objects.delete_expired(now=later, limit=3) == 3
    assert PendingImport.objects.count() == 2


def test_a_file_too_large_for_the_admin_is_refused_naming_the_limit(client, coordinator, settings):
    settings.CRM_IMPORT_MAX_BYTES = 10
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    preview = _preview(client)

    assert "split it" in preview.context["form"].errors["file"][0]
    assert not PendingImport.objects.exists()


# Speed: a few statements per chunk of rows, not per row; the same answers.


def _organisations(count: int, *, start: int = 0) -> str:
    rows = "".join(f"org-{n},Org {n},company,FR,true\n" for n in range(start, start + count))
    return "slug,name,kind,country,is_identified\n" + rows


def _people(count: int, *, email=lambda n: f"p{n}@example.org") -> str:
    header = "slug,given_name,family_name,email,organization,title,start_on,is_primary\n"
    rows = "".join(
        f"p-{n},Given{n},Family{n},{email(n)},org-{n % 5},Role,2024-01-01,true\n"
        for n in range(count)
    )
    return header + rows


def test_an_import_runs_a_bounded_number_of_queries_per_chunk():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as organisations:
        first = run(_organisations(200))
    with CaptureQueriesContext(connection) as again:
        run(_organisations(200).replace("Org 1", "Org One"))  # Some updated, most unchanged.
    with CaptureQueriesContext(connection) as people:
        result = run(_people(200))

    assert (first.created, result.created, result.affiliations_created) == (200, 200, 200)
    # One chunk: a handful of statements, however many rows (it was 12 per row).
    # SQLite splits each bulk INSERT by its limit of variables per statement,
    # so a model with more columns takes a few more: 200 people and their
    # history rows are 9 INSERTs there, 2 on PostgreSQL.
    assert len(organisations) < 25, [query["sql"][:80] for query in organisations]
    assert len(again) < 25, [query["sql"][:80] for query in again]
    assert len(people) < 25, [query["sql"][:80] for query in people]


def test_history_is_written_for_created_and_updated_records(coordinator):
    run(ORGS, by=coordinator)
    run(ORGS.replace("Visa,payment", "Visa Inc,payment"), by=coordinator)
    run(ORGS.replace("Visa,payment", "Visa Inc,payment"))  # Unchanged: no history.
    run(PEOPLE, by=coordinator)

    visa = Organization.objects.get(slug="visa")
    assert [(h.history_type, h.name, h.history_user) for h in visa.history.order_by("pk")] == [
        ("+", "Visa", coordinator),
        ("~", "Visa Inc", coordinator),
    ]
    assert Organization.history.count() == 3  # Nothing for the unchanged rows.
    assert Person.history.filter(history_type="+", history_user=coordinator).count() == 2
    assert Affiliation.history.filter(history_type="+", history_user=coordinator).count() == 2


def test_a_key_repeated_in_one_file_is_refused_naming_both_rows(monkeypatch):
    monkeypatch.setattr("crm.importing.CHUNK_ROWS", 2)  # The repeat is in another chunk.
    text = ORGS + "other,Other,company,US,true\nvisa,Visa Inc,payment_network,US,true\n"

    with translation.override("en"):
        result = run(text)

    assert [(error.row, error.column) for error in result.errors] == [(5, "slug")]
    assert "row 2" in result.errors[0].message
    assert not Organization.objects.exists()


@pytest.mark.parametrize("python_check", [True, False], ids=["checked first", "database only"])
def test_a_row_breaking_a_database_rule_in_a_big_chunk_is_named(monkeypatch, python_check):
    # Row 202 (person 200) reuses person 7's e-mail in other case. Without the
    # check in Python, the database's unique index refuses the chunk's write,
    # which is halved until the refused row is found: the error still names it.
    if not python_check:
        monkeypatch.setattr("crm.importing.planning._broken_rule", lambda *args: None)
    run(_organisations(5))
    text = _people(250, email=lambda n: "P7@Example.org" if n == 200 else f"p{n}@example.org")

    result = run(text)

    assert [(error.row, error.column) for error in result.errors] == [(202, "")]
    assert result.rows == 250
    assert result.created == 249
    assert not Person.objects.exists()
    assert not Affiliation.objects.exists()


def test_an_organisation_breaking_the_note_rule_only_the_database_checks(monkeypatch):
    monkeypatch.setattr("crm.importing.planning._broken_rule", lambda *args: None)
    text = "slug,name,kind,needs_verification\n" + "".join(
        f"org-{n},Org {n},company,{'true' if n == 250 else 'false'}\n" for n in range(300)
    )

    result = run(text)

    assert [error.row for error in result.errors] == [252]
    assert not Organization.objects.exists()
