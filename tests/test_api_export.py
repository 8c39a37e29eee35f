"""Lists as files: every matching row as CSV or XLSX, not one page."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from crm.api import export
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def language_restored():
    """Requests here ask for English or French: leave the default active after each."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


N = 120  # More than two default pages (50).


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200, response
    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_csv_holds_every_matching_row_with_readable_headers(coordinator_api):
    project = factories.ProjectFactory(name="Digital payments")
    factories.FollowUpFactory.create_batch(N, project=project, due_on=date(2026, 2, 1))
    factories.FollowUpFactory(status="cancelled", project=project)

    response = coordinator_api.get("/api/v1/follow-ups/?format=csv&status=open")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="follow-ups-')
    rows = read_csv(response)
    assert len(rows) == N
    assert list(rows[0])[:5] == ["ID", "Title", "Description", "Project", "Project (name)"]
    assert rows[0]["Project (name)"] == "Digital payments"
    assert rows[0]["Due date"] == "2026-02-01"
    assert rows[0]["Status (label)"] == "Open"


def test_follow_up_csv_names_the_meeting_and_the_people_and_says_yes_or_no(
    api_client, coordinator
):
    author = factories.UserFactory(username="ama", first_name="Ama", last_name="Mensah")
    meeting = factories.InteractionFactory(title="Rencontres du CCA")
    factories.FollowUpFactory(
        interaction=meeting, created_by=author, due_on=timezone.localdate() - timedelta(days=2)
    )
    api_client.force_authenticate(coordinator)

    english = read_csv(api_client.get("/api/v1/follow-ups/?format=csv"))[0]
    french = read_csv(api_client.get("/api/v1/follow-ups/?format=csv", HTTP_ACCEPT_LANGUAGE="fr"))

    assert english["Meeting (title)"] == "Rencontres du CCA"
    assert english["Created by (name)"] == "Ama Mensah"
    assert english["Overdue"] == "yes"
    assert "oui" in french[0].values()
    # The API's CSV keeps the machine's separator whatever the language.
    assert len(french[0]) > 10


def test_export_file_names_have_an_ascii_fallback_and_the_exact_name():
    header = export.content_disposition("activités-2026-12-07.csv")

    assert header == (
        'attachment; filename="activites-2026-12-07.csv"; '
        "filename*=UTF-8''activit%C3%A9s-2026-12-07.csv"
    )
    assert '"' not in export.content_disposition('a";\r\nb.csv').split('"')[1]


def test_csv_headers_follow_the_request_language(api_client, coordinator):
    api_client.force_authenticate(coordinator)
    factories.OrganizationFactory()

    response = api_client.get("/api/v1/organizations/?format=csv", HTTP_ACCEPT_LANGUAGE="fr")

    assert "Nom" in list(read_csv(response)[0])


def test_csv_export_query_count_does_not_grow_with_rows(coordinator_api):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            read_csv(coordinator_api.get("/api/v1/interactions/?format=csv"))
        return len(queries)

    for _ in range(3):
        interaction = factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
        interaction.projects.set([factories.ProjectFactory()])
    count_queries()  # Warm the per-request caches (permissions, content types).
    few = count_queries()
    for _ in range(30):
        interaction = factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
        interaction.projects.set([factories.ProjectFactory()])

    assert count_queries() == few


def test_csv_is_streamed_in_chunks(coordinator_api, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_SIZE", 10)
    factories.OrganizationFactory.create_batch(35)

    response = coordinator_api.get("/api/v1/organizations/?format=csv")

    assert response.streaming
    assert len(read_csv(response)) == 35


def test_xlsx_holds_every_matching_row_with_typed_dates(coordinator_api):
    due_on = timezone.localdate() + timedelta(days=5)
    factories.FollowUpFactory.create_batch(N, due_on=due_on)

    response = coordinator_api.get("/api/v1/follow-ups/?format=xlsx")

    assert response["Content-Type"] == export.XLSX_MEDIA_TYPE
    assert "follow-ups-" in response["Content-Disposition"]
    rows = read_xlsx(response)
    headers, data = rows[0], rows[1:]
    assert len(data) == N
    row = dict(zip(headers, data[0], strict=True))
    # A date cell, which openpyxl reads back as a datetime at midnight.
    assert row["Due date"] == datetime.combine(due_on, datetime.min.time())
    assert isinstance(row["Created at"], datetime)
    assert row["Overdue"] == "no"  # A word, not a TRUE/FALSE cell.


def test_xlsx_date_cells_have_a_date_format(coordinator_api):
    factories.MissionFactory()

    response = coordinator_api.get("/api/v1/missions/?format=xlsx")

    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    headers = [cell.value for cell in sheet[1]]
    start = sheet.cell(row=2, column=headers.index("Start") + 1)
    assert start.is_date
    assert start.number_format == "dd/mm/yyyy"


def test_xlsx_has_a_frozen_header_an_autofilter_and_column_widths(coordinator_api):
    factories.FollowUpFactory.create_batch(3)

    response = coordinator_api.get("/api/v1/follow-ups/?format=xlsx")

    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}4"
    assert all(cell.font.b for cell in sheet[1])
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    assert widths["B"] > widths["A"]  # The title is wider than the id.
    completed_at = sheet.cell(row=1, column=[c.value for c in sheet[1]].index("Created at") + 1)
    assert sheet.cell(row=2, column=completed_at.column).number_format == "dd/mm/yyyy hh:mm"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_response_tells_its_row_count(coordinator_api, fmt):
    factories.OrganizationFactory.create_batch(7)

    response = coordinator_api.get(f"/api/v1/organizations/?format={fmt}")

    b"".join(response.streaming_content)
    assert response.row_count == 7


@pytest.mark.parametrize("resource", ["organizations", "interactions", "stage-changes"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_list_exports(coordinator_api, resource, fmt):
    factories.OrganizationFactory()
    factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
    factories.StageChangeFactory()

    response = coordinator_api.get(f"/api/v1/{resource}/?format={fmt}")

    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)[1:]
    assert len(rows) >= 1


def test_overdue_follow_ups_as_csv_with_a_token(api_client, staff_user):
    from crm.models import ApiToken

    _token, key = ApiToken.create_for(staff_user, name="Report")
    late = factories.FollowUpFactory(due_on=timezone.localdate() - timedelta(days=1))
    factories.FollowUpFactory(due_on=timezone.localdate() + timedelta(days=1))

    response = api_client.get(
        "/api/v1/follow-ups/?overdue=true&format=csv", HTTP_AUTHORIZATION=f"Token {key}"
    )

    assert [row["ID"] for row in read_csv(response)] == [str(late.pk)]


def test_a_bad_filter_in_an_export_is_a_400(coordinator_api):
    response = coordinator_api.get("/api/v1/follow-ups/?format=csv&overdue=perhaps")

    assert response.status_code == 400


def test_a_detail_has_no_csv(coordinator_api):
    org = factories.OrganizationFactory()

    assert coordinator_api.get(f"/api/v1/organizations/{org.pk}/?format=csv").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_and_control_characters_are_neutralized(coordinator_api, fmt):
    factories.OrganizationFactory(
        name='=HYPERLINK("http://evil.example","x")', city="Lo\x05mé", short_name="+228 90"
    )

    response = coordinator_api.get(f"/api/v1/organizations/?format={fmt}")

    if fmt == "csv":
        row = read_csv(response)[0]
    else:
        headers, *rows = read_xlsx(response)
        row = dict(zip(headers, rows[0], strict=True))
    name_header = "Name" if "Name" in row else "Nom"
    assert row[name_header] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["City"] == "Lomé"
    assert row["Short name"] == "+228 90"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-SUM(A1:A2)", "'-SUM(A1:A2)"),
        ("\tfoo", "'\tfoo"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+228 90 00 00 00", "+228 90 00 00 00"),
        ("+1 (415) 555.0100", "+1 (415) 555.0100"),
        ("-12", "-12"),
        ("-1.5", "-1.5"),
        ("Lomé", "Lomé"),
    ],
)
def test_neutralize_lets_through_only_plain_numbers_after_a_sign(value, expected):
    assert export.neutralize(value) == expected


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_owasp_formula_payload_is_neutralized_in_files(coordinator_api, fmt):
    factories.OrganizationFactory(
        name="-2+3+cmd|' /C calc'!A0", city="-12", short_name="+228 90 00 00 00"
    )

    response = coordinator_api.get(f"/api/v1/organizations/?format={fmt}")

    if fmt == "csv":
        row = read_csv(response)[0]
    else:
        headers, *rows = read_xlsx(response)
        row = dict(zip(headers, rows[0], strict=True))
    assert row["Name"] == "'-2+3+cmd|' /C calc'!A0"
    assert row["City"] == "-12"
    assert row["Short name"] == "+228 90 00 00 00"


def test_an_error_in_xlsx_format_is_still_a_4xx(coordinator_api):
    response = coordinator_api.get("/api/v1/organizations/?format=xlsx&\x05=1&\x05=2")

    assert response.status_code == 400


# The COPY path (PostgreSQL) against the Python path: the same bytes.

EXPORTED_LISTS = [
    "organizations",
    "people",
    "affiliations",
    "projects",
    "missions",
    "interactions",
    "partnerships",
    "follow-ups",
    "stage-changes",
    "commitments",
    "commitment-status-changes",
    "agreements",
    "agreement-status-changes",
    "documents",
    "exchange-rates",
]


@pytest.fixture
def every_column_type():
    """Rows with every kind of column: labels, names of related rows, nulls, dates, times."""
    from crm.models import FollowUp, Partnership

    today = timezone.localdate()
    named = factories.UserFactory(username="ama", first_name="Ama", last_name="Mensah")
    bare = factories.UserFactory(username="kofi")
    source = factories.SourceFactory(title="=cmd|' /C calc'!A0")
    organization = factories.OrganizationFactory(
        name="+Acme", short_name="-12", city="Lo\x05mé", source=source
    )
    plain = factories.OrganizationFactory(name="Plain")
    person = factories.PersonFactory(given_name="Ama", family_name="", preferred_language="fr")
    factories.PersonFactory(given_name="Kofi", family_name="Annan")
    factories.AffiliationFactory(person=person, organization=organization)
    factories.AffiliationFactory(organization=plain, end_on=date(2024, 1, 1))
    lead_project = factories.ProjectFactory(name="Energy", lead=named)
    project = factories.ProjectFactory(name="Digital payments")
    factories.MissionFactory(organizer=organization)
    factories.MissionFactory(organizer=None, cities="Lomé, Kara")
    interaction = factories.InteractionFactory(
        organizations=[organization, plain], occurred_on=today - timedelta(days=3)
    )
    interaction.projects.set([project])
    interaction.people.set([person])
    interaction.staff.set([named])
    factories.InteractionFactory(organizations=[plain])
    partnership = factories.PartnershipFactory(
        organization=organization, project=project, owner=named, contact_cadence_days=30
    )
    for stage in Partnership.Stage.values[:3]:
        factories.PartnershipFactory(project=lead_project, stage=stage)
    factories.PartnershipFactory(organization=plain, project=lead_project)
    factories.StageChangeFactory(partnership=partnership, changed_by=bare)
    factories.StageChangeFactory(
        partnership=partnership,
        from_stage="",
        to_stage=Partnership.Stage.IDENTIFIED,
        changed_by=None,
        note="@note",
    )
    for n, status in enumerate(FollowUp.Status.values):
        for due_on in (today - timedelta(days=1), today, today + timedelta(days=1)):
            factories.FollowUpFactory(
                project=project,
                organization=organization if n % 2 else None,
                person=person if n % 3 else None,
                interaction=interaction if n == 1 else None,
                assignee=(named, bare, None)[n % 3],
                due_on=due_on,
                status=status,
                priority=FollowUp.Priority.values[n % len(FollowUp.Priority.values)],
                completed_at=timezone.now() if status == FollowUp.Status.DONE else None,
                completed_by=named if status == FollowUp.Status.DONE else None,
                completion_note="=done" if status == FollowUp.Status.DONE else "",
                created_by=bare if n % 2 else None,
                description='Line one\nline two, "quoted"',
            )
    _commitments_agreements_and_documents(named, bare, organization, plain, partnership, today)


def _commitments_agreements_and_documents(named, bare, organization, plain, partnership, today):
    """Amounts in three currencies (one converted to USD, one not at all), parties, files."""
    from django.core.files.base import ContentFile

    from crm import services
    from tests.test_documents import PDF

    factories.ExchangeRateFactory(
        currency="USD", rate_on=today - timedelta(days=2), xof_per_unit="600.123456"
    )
    factories.ExchangeRateFactory(
        currency="USD", rate_on=today - timedelta(days=40), xof_per_unit="590", created_by=named
    )
    source = factories.SourceFactory()
    commitments = [
        factories.CommitmentFactory(
            partnership=partnership, amount="1000.50", currency="EUR", description="=1+1"
        ),
        factories.CommitmentFactory(partnership=partnership, amount="0.05", currency="USD"),
        factories.CommitmentFactory(amount="123456789012.99", currency="XOF", source=source),
        factories.CommitmentFactory(amount=None, currency="XOF", expected_on=today),
    ]
    services.commitment_change_status(
        commitment=commitments[2], to_status="confirmed", by=named, note="-SUM(A1)"
    )
    services.commitment_deliver(commitment=commitments[2], amount=Decimal("0.01"), by=bare)
    services.commitment_change_status(commitment=commitments[3], to_status="lapsed", by=None)
    agreement = services.agreement_create(
        by=named,
        slug="mou",
        kind="mou",
        title="@MoU",
        summary="Line one\nline two",
        parties=[organization, plain],
        projects=[partnership.project],
        owner=named,
        expires_on=today + timedelta(days=30),
    )
    services.agreement_create(by=None, slug="nda", kind="nda", title="NDA", parties=[plain])
    services.agreement_change_status(
        agreement=agreement, to_status="under_review", by=bare, note="=review"
    )
    first = services.document_create(
        by=named, file=ContentFile(PDF, name="mou.pdf"), title="+MoU", agreement=agreement
    )
    services.document_create(
        by=None,
        file=ContentFile(PDF + b"%x\n", name="mou-2.pdf"),
        title="MoU, signed",
        previous_version=first,
        agreement=agreement,
    )
    services.document_create(
        by=bare, file=ContentFile(PDF, name="c.pdf"), title="Letter", commitment=commitments[0]
    )


def _csv_text(client, resource: str, language: str) -> str:
    response = client.get(f"/api/v1/{resource}/?format=csv", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.postgres
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("resource", EXPORTED_LISTS)
def test_copy_export_equals_the_python_export_byte_for_byte(
    api_client, coordinator, every_column_type, monkeypatch, resource, language
):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    api_client.force_authenticate(coordinator)
    copied = []
    copy_sql = export.copy_sql
    monkeypatch.setattr(export, "copy_sql", lambda e: copied.append(e) or copy_sql(e))
    by_copy = _csv_text(api_client, resource, language)
    assert len(copied) == 1

    monkeypatch.setattr(export, "uses_copy", lambda _export: False)
    in_python = _csv_text(api_client, resource, language)

    assert len(by_copy.splitlines()) > 2
    assert by_copy == in_python


def test_formula_cells_and_labels_in_the_request_language(
    api_client, coordinator, every_column_type
):
    api_client.force_authenticate(coordinator)

    follow_ups = _csv_text(api_client, "follow-ups", "fr")
    stage_changes = _csv_text(api_client, "stage-changes", "en")
    organizations = _csv_text(api_client, "organizations", "en")

    assert ",'=done," in follow_ups
    assert "Ouvert" in follow_ups or "À faire" in follow_ups or "En cours" in follow_ups
    assert ",'@note" in stage_changes
    assert "'=cmd|' /C calc'!A0" in organizations
    assert ",'+Acme," in organizations
    assert ",-12," in organizations
    assert '"Line one\nline two, ""quoted"""' in follow_ups


def test_commitment_agreement_and_document_files_speak_the_serializers_language(
    api_client, coordinator, every_column_type
):
    """Headers are the serializers' labels; amounts exact; user text neutralised."""
    api_client.force_authenticate(coordinator)

    def rows(resource, language="en"):
        text = _csv_text(api_client, resource, language)
        return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))

    commitments = {row["Description"]: row for row in rows("commitments")}
    agreements = {row["Slug"]: row for row in rows("agreements")}
    documents = rows("documents")
    changes = rows("commitment-status-changes")
    french = rows("commitment-status-changes", "fr")[0]

    euro = commitments["'=1+1"]
    assert (euro["Amount"], euro["Currency"]) == ("1000.50", "EUR")
    # 1000.50 × 655.957 XOF, then ÷ 600.123456 for USD; half up, as the API rounds.
    assert (euro["Amount in XOF"], euro["Amount in USD"]) == ("656285", "1093.58")
    big = next(row for row in commitments.values() if row["Currency"] == "XOF" and row["Amount"])
    assert (big["Amount"], big["Amount in XOF"]) == ("123456789012.99", "123456789013")
    assert (big["Status (label)"], big["Amount delivered"]) == ("Confirmed", "0.01")
    assert next(row for row in commitments.values() if not row["Amount"])["Amount in XOF"] == ""
    assert agreements["mou"]["Title"] == "'@MoU"
    assert agreements["mou"]["Parties (names)"] == "'+Acme; Plain"
    assert agreements["mou"]["Owner (name)"] == "Ama Mensah"
    assert agreements["nda"]["Parties (names)"] == "Plain"
    assert {row["Title"] for row in documents} == {"'+MoU", "MoU, signed", "Letter"}
    assert all(
        row["Download URL"] == f"/api/v1/documents/{row['ID']}/download/" for row in documents
    )
    assert {row["Note"] for row in changes} >= {"'-SUM(A1)"}
    assert {row["Changed by (name)"] for row in changes} >= {"Ama Mensah", "kofi"}
    assert "Modifié par (nom)" in french


@pytest.mark.parametrize(
    ("resource", "header", "number_format"),
    [
        ("commitments", "Amount in XOF", "#,##0"),
        ("exchange-rates", "XOF per unit", "#,##0.000000"),
    ],
)
def test_xlsx_amounts_are_numbers(
    coordinator_api, every_column_type, resource, header, number_format
):
    response = coordinator_api.get(f"/api/v1/{resource}/?format=xlsx")

    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    column = [cell.value for cell in sheet[1]].index(header) + 1
    cells = [sheet.cell(row=n, column=column) for n in range(2, sheet.max_row + 1)]
    numbers = [cell for cell in cells if cell.value is not None]
    assert numbers
    assert all(isinstance(cell.value, (int, float)) for cell in numbers)
    assert all(cell.number_format == number_format for cell in numbers)
