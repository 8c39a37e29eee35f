"""The staff pages' exports: the rows the filters select, read as a person reads them.

Dashboard, organisations, people and projects answer ``?export=xlsx|csv``: every
row the page's filters select (not the page shown), labels and names instead
of codes and ids, "oui"/"non", a French CSV separated by ";" with decimal
commas, file names in the reader's language, each export in the export log,
and a fixed number of queries whatever the number of rows.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm.api import export
from crm.models import Commitment, ExportLog, FollowUp
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

DAY = f"{TODAY:%Y-%m-%d}"


@pytest.fixture(autouse=True)
def language_restored():
    with translation.override(settings.LANGUAGE_CODE):
        yield


def body(response) -> bytes:
    assert response.status_code == 200, response
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def read_csv(response, delimiter: str) -> list[dict]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with its BOM.
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=delimiter))


def read_xlsx(response) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    headers, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(headers, row, strict=True)) for row in rows]


def get(client, url: str, language: str = "en"):
    """GET ``url`` in ``language``: pages speak the language chosen (its cookie), else French."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(url)


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


# The dashboard: the user's open follow-ups, each with its group.


@pytest.fixture
def my_follow_ups(coordinator):
    meeting = factories.InteractionFactory(title="Rencontres du CCA")
    author = factories.UserFactory(username="ama", first_name="Ama", last_name="Mensah")
    coordinator.first_name, coordinator.last_name = "Awa", "Kodjo"
    coordinator.save()
    late = factories.FollowUpFactory(
        title="Relancer Visa",
        assignee=coordinator,
        due_on=TODAY - timedelta(days=2),
        interaction=meeting,
        created_by=author,
        priority=FollowUp.Priority.HIGH,
    )
    soon = factories.FollowUpFactory(
        title="Envoyer la note", assignee=coordinator, due_on=TODAY + timedelta(days=3)
    )
    factories.FollowUpFactory(title="Someone else's", due_on=TODAY)
    factories.FollowUpFactory(
        title="Done already",
        assignee=coordinator,
        due_on=TODAY,
        status=FollowUp.Status.DONE,
        completed_at=TODAY,
        completion_note="Sent",
    )
    return late, soon


def test_dashboard_xlsx_holds_my_open_follow_ups_with_their_group(
    coordinator_client, my_follow_ups
):
    response = get(coordinator_client, "/?export=xlsx")

    assert response["Content-Type"] == export.XLSX_MEDIA_TYPE
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"follow-ups-{DAY}.xlsx\"; filename*=UTF-8''follow-ups-{DAY}.xlsx"
    )
    rows = read_xlsx(response)
    assert [row["Title"] for row in rows] == ["Relancer Visa", "Envoyer la note"]
    late = rows[0]
    assert late["Group"] == "Overdue"
    assert late["Status"] == "Open"
    assert late["Priority"] == "High"
    assert late["Meeting"] == "Rencontres du CCA"
    assert late["Created by"] == "Ama Mensah"
    assert late["Assignee"] == "Awa Kodjo"
    assert late["Due date"].date() == TODAY - timedelta(days=2)
    assert rows[1]["Group"] == "Due within 7 days"


def test_dashboard_csv_in_french_is_separated_by_semicolons_with_french_labels(
    coordinator_client, my_follow_ups
):
    response = get(coordinator_client, "/?export=csv", "fr")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="suivis-{DAY}.csv"' in response["Content-Disposition"]
    rows = read_csv(response, ";")
    assert rows[0]["Titre"] == "Relancer Visa"
    assert "En retard" in rows[0].values()  # The group, in French.
    assert rows[0]["Statut"] != "open"


def test_dashboard_team_export_is_the_whole_teams_for_coordination(
    coordinator_client, my_follow_ups
):
    rows = read_xlsx(get(coordinator_client, "/?scope=team&export=xlsx"))

    assert {row["Title"] for row in rows} == {"Relancer Visa", "Envoyer la note", "Someone else's"}


def test_an_export_is_written_to_the_export_log(coordinator_client, coordinator, my_follow_ups):
    body(get(coordinator_client, "/?scope=team&export=csv"))

    entry = ExportLog.objects.get()
    assert (entry.user, entry.kind, entry.resource) == (coordinator, "csv", "page: dashboard")
    assert entry.filters == {"scope": ["team"]}
    assert entry.row_count == 3


def test_an_unknown_format_is_refused(coordinator_client):
    assert get(coordinator_client, "/?export=pdf").status_code == 400
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize(
    "url", ["/", "/organizations/", "/people/", "/projects/", "/follow-ups/export/"]
)
def test_anonymous_users_are_sent_to_log_in(client, url):
    response = client.get(f"{url}?export=xlsx")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "url", ["/", "/organizations/", "/people/", "/projects/", "/follow-ups/export/"]
)
def test_read_only_users_export_what_they_can_see(client, reader, url):
    """As the API lets them (its export needs the list's view permission only)."""
    factories.FollowUpFactory(assignee=reader, due_on=TODAY)
    factories.PersonFactory()
    client.force_login(reader)

    response = get(client, f"{url}?export=csv")

    assert response.status_code == 200
    assert len(read_csv(response, ",")) >= 1
    assert ExportLog.objects.get().user == reader


def test_a_user_without_the_view_permission_is_refused(client):
    client.force_login(factories.UserFactory())

    assert get(client, "/organizations/?export=xlsx").status_code == 403
    assert not ExportLog.objects.exists()


# The lists: the filters carried, every page of rows.


def test_organisation_export_holds_the_filtered_rows_of_every_page(coordinator_client):
    factories.OrganizationFactory.create_batch(55, kind="company", country="US")
    factories.OrganizationFactory(name="Université de Lomé", kind="university", country="TG")

    rows = read_xlsx(get(coordinator_client, "/organizations/?kind=company&page=2&export=xlsx"))

    assert len(rows) == 55  # Every page, not the 50 shown, nor page 2's five.
    assert {row["Kind"] for row in rows} == {"Company"}
    assert {row["Country"] for row in rows} == {"United States"}


def test_organisation_export_reads_as_a_person_would(coordinator_client):
    source = factories.SourceFactory(title="Communiqué")
    visa = factories.OrganizationFactory(
        name="Visa",
        kind="payment_network",
        country="US",
        source=source,
        needs_verification=True,
        verification_note="Check the name",
    )
    factories.PartnershipFactory(organization=visa, project__name="Paiements digitaux")

    english = read_csv(get(coordinator_client, "/organizations/?q=visa&export=csv"), ",")[0]
    french = read_csv(get(coordinator_client, "/organizations/?q=visa&export=csv", "fr"), ";")[0]

    assert english["Kind"] == "Payment network"
    assert english["Country"] == "United States"
    assert english["Projects"] == "Paiements digitaux"
    assert english["Source"] == "Communiqué"
    assert (english["Identified"], english["To verify"]) == ("yes", "yes")
    assert french["Pays"] == "États-Unis"
    assert "oui" in french.values()


def test_organisation_export_with_a_refused_filter_is_a_400(coordinator_client):
    response = get(coordinator_client, "/organizations/?country=Atlantis&export=xlsx")

    assert response.status_code == 400
    assert not ExportLog.objects.exists()


def test_people_export_follows_the_search_and_names_current_roles(coordinator_client):
    visa = factories.OrganizationFactory(name="Visa")
    mary = factories.PersonFactory(given_name="Mary", family_name="Test", preferred_language="en")
    factories.AffiliationFactory(person=mary, organization=visa, title="Director")
    factories.PersonFactory(given_name="Kofi", family_name="Annan")

    rows = read_xlsx(get(coordinator_client, "/people/?q=mary&export=xlsx", "fr"))

    assert len(rows) == 1
    assert rows[0]["Nom"] == "Mary Test"
    assert rows[0]["Fonctions actuelles"] == "Director, Visa"
    assert rows[0]["Langue préférée"] not in ("en", None)


def test_project_export_counts_partners_and_follow_ups(coordinator_client):
    lead = factories.UserFactory(first_name="Awa", last_name="Kodjo")
    project = factories.ProjectFactory(name="Paiements digitaux", lead=lead)
    factories.PartnershipFactory.create_batch(2, project=project)
    factories.FollowUpFactory(project=project, due_on=TODAY - timedelta(days=1))
    factories.FollowUpFactory(project=project, due_on=TODAY + timedelta(days=1))

    rows = read_xlsx(get(coordinator_client, "/projects/?export=xlsx"))

    row = next(row for row in rows if row["Name"] == "Paiements digitaux")
    assert row["Lead"] == "Awa Kodjo"
    assert (row["Partners"], row["Open follow-ups"], row["Overdue"]) == (2, 2, 1)


@pytest.mark.parametrize(
    ("url", "language", "name"),
    [
        ("/organizations/", "en", "organisations"),
        ("/people/", "fr", "personnes"),
        ("/people/", "en", "people"),
        ("/projects/", "fr", "projets"),
        ("/", "en", "follow-ups"),
    ],
)
def test_file_names_are_in_the_readers_language(coordinator_client, url, language, name):
    response = get(coordinator_client, f"{url}?export=xlsx", language)

    assert f'filename="{name}-{DAY}.xlsx"' in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/?scope=team", lambda n: factories.FollowUpFactory.create_batch(n, due_on=TODAY)),
        ("/organizations/?kind=company", lambda n: _organisations(n)),
        ("/people/?q=a", lambda n: _people(n)),
        ("/projects/", lambda n: _projects(n)),
        (
            "/follow-ups/export/",
            lambda n: factories.FollowUpFactory.create_batch(n, due_on=TODAY),
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_query_count_does_not_grow_with_rows(coordinator_client, url, make, fmt):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            body(
                get(
                    coordinator_client,
                    f"{url}&export={fmt}" if "?" in url else f"{url}?export={fmt}",
                )
            )
        return len(queries)

    make(2)
    count()  # Warm the per-request caches (permissions, content types).
    few = count()
    make(30)

    assert count() == few


def _organisations(n):
    for organization in factories.OrganizationFactory.create_batch(n, kind="company"):
        factories.PartnershipFactory(organization=organization)


def _people(n):
    for person in factories.PersonFactory.create_batch(n, given_name="Ama"):
        factories.AffiliationFactory(person=person)


def _projects(n):
    for project in factories.ProjectFactory.create_batch(n, lead=factories.UserFactory()):
        factories.PartnershipFactory(project=project)
        factories.FollowUpFactory(project=project, due_on=TODAY)


def test_export_links_carry_the_filters_and_drop_the_page(coordinator_client):
    factories.OrganizationFactory(kind="company")

    page = get(coordinator_client, "/organizations/?kind=company&page=1").content.decode()

    assert 'href="?kind=company&amp;export=xlsx"' in page
    assert 'href="?kind=company&amp;export=csv"' in page


# Decimal commas: a French CSV writes amounts as French spreadsheets read them.


COMMITMENT_COLUMNS = [
    export.Column("amount", "amount", export.Kind.DECIMAL, places=2),
    export.Column("currency", "currency"),
    export.Column("description", "description"),
    export.Column("demo", "is_demo", export.Kind.BOOLEAN),
    export.Column("status", "status", export.Kind.LABEL, choices=tuple(Commitment.Status.choices)),
]


def _commitment_csv(style) -> str:
    response = export.csv_response(
        Commitment.objects.order_by("id"), COMMITMENT_COLUMNS, "c", style=style
    )
    return b"".join(response.streaming_content).decode("utf-8")


def test_a_french_csv_has_decimal_commas_and_semicolons():
    factories.CommitmentFactory(amount=Decimal("1234.50"), currency="EUR", description="Pilote")

    with translation.override("fr"):
        french = _commitment_csv(export.FRENCH_CSV)
    with translation.override("en"):
        english = _commitment_csv(export.MACHINE_CSV)

    assert "\n1234,50;EUR;Pilote;non;Annoncé\n" in french
    assert "\n1234.50,EUR,Pilote,no,Announced\n" in english


@pytest.mark.postgres
@pytest.mark.parametrize("style", [export.FRENCH_CSV, export.MACHINE_CSV])
def test_copy_and_python_write_the_same_french_csv(postgres_only, monkeypatch, style):
    factories.CommitmentFactory(amount=Decimal("1234.50"), currency="EUR", description="a;b")
    factories.CommitmentFactory(amount=None, currency="XOF", is_demo=True)

    with translation.override("fr"):
        by_copy = _commitment_csv(style)
        monkeypatch.setattr(export, "uses_copy", lambda _export: False)
        in_python = _commitment_csv(style)

    assert '"a;b"' in by_copy or style is export.MACHINE_CSV
    assert by_copy == in_python


@pytest.mark.postgres
@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "url", ["/?scope=team", "/organizations/?q=a", "/people/?q=a", "/projects/?"]
)
def test_copy_and_python_write_the_same_page_csv(
    postgres_only, coordinator_client, my_follow_ups, monkeypatch, url, language
):
    source = factories.SourceFactory(title="=cmd")
    visa = factories.OrganizationFactory(name="Visa; Inc", country="US", source=source)
    factories.OrganizationFactory(name="Plain", country="", is_identified=False)
    person = factories.PersonFactory(given_name="Ama", family_name="Mensah")
    factories.AffiliationFactory(person=person, organization=visa, title="Director")
    factories.AffiliationFactory(person=person, title="Adviser")
    factories.PartnershipFactory(organization=visa)

    def csv_text() -> bytes:
        return body(get(coordinator_client, f"{url}&export=csv", language))

    by_copy = csv_text()
    monkeypatch.setattr(export, "uses_copy", lambda _export: False)
    in_python = csv_text()

    assert len(by_copy.splitlines()) >= 2
    assert by_copy == in_python


def test_xlsx_text_columns_are_as_wide_as_their_longest_value_up_to_60(coordinator_client):
    factories.FollowUpFactory(title="T" * 30, description="D" * 500, due_on=TODAY)

    response = get(coordinator_client, "/?scope=team&export=xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    widths = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    assert widths["Title"] == 32  # 30 characters and a margin.
    assert widths["Description"] == export.MAX_WIDTH
    assert widths["Group"] == len("Due today") + 2


# The open follow-ups of a record's page.


def test_a_projects_open_follow_ups_export_from_its_page(coordinator_client):
    project = factories.ProjectFactory(code="paiements", name="Paiements digitaux")
    factories.FollowUpFactory.create_batch(55, project=project, due_on=TODAY)
    factories.FollowUpFactory(
        project=project,
        due_on=TODAY,
        status=FollowUp.Status.CANCELLED,
    )
    factories.FollowUpFactory(due_on=TODAY)  # Another project's.

    page = get(coordinator_client, "/projects/paiements/").content.decode()
    assert 'href="/follow-ups/export/?project=paiements&amp;export=xlsx"' in page
    rows = read_xlsx(get(coordinator_client, "/follow-ups/export/?project=paiements"))

    assert len(rows) == 55  # Every open one, not the 50 the page lists.
    assert {row["Project"] for row in rows} == {"Paiements digitaux"}
    assert ExportLog.objects.get().resource == "page: follow-ups"


def test_a_partnerships_follow_ups_export_is_its_organisation_and_project(coordinator_client):
    partnership = factories.PartnershipFactory()
    organization, project = partnership.organization, partnership.project
    factories.FollowUpFactory(
        title="Ours", organization=organization, project=project, due_on=TODAY
    )
    factories.FollowUpFactory(title="Other project", organization=organization, due_on=TODAY)

    url = f"/follow-ups/export/?organization={organization.slug}&project={project.code}"
    rows = read_csv(get(coordinator_client, f"{url}&export=csv"), ",")

    assert [row["Title"] for row in rows] == ["Ours"]


def test_a_follow_up_export_naming_nothing_is_refused(coordinator_client):
    assert get(coordinator_client, "/follow-ups/export/?project=nowhere").status_code == 400
    assert not ExportLog.objects.exists()


def test_the_follow_up_export_needs_the_view_permission(client):
    client.force_login(factories.UserFactory())

    assert get(client, "/follow-ups/export/").status_code == 403
