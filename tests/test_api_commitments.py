"""API of commitments, agreements, documents and rates: read-only statuses, actions, files."""

import csv
import io
from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.text import capfirst

from crm import services
from crm.models import Commitment, Document
from tests import factories
from tests.test_documents import EXE, PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_today(monkeypatch, today):
    monkeypatch.setattr("crm.api.commitments.today", lambda: today)
    return today


def test_the_status_is_read_only_on_patch(coordinator_api):
    commitment = factories.CommitmentFactory()

    response = coordinator_api.patch(
        f"/api/v1/commitments/{commitment.pk}/", {"status": "delivered", "description": "New"}
    )

    assert response.status_code == 200
    commitment.refresh_from_db()
    assert (commitment.status, commitment.description) == ("announced", "New")


def test_confirm_without_a_source_is_a_400_and_with_one_a_200(coordinator_api, coordinator):
    commitment = factories.CommitmentFactory()
    url = f"/api/v1/commitments/{commitment.pk}/confirm/"

    refused = coordinator_api.post(url, {"note": "?"})
    source = factories.SourceFactory()
    confirmed = coordinator_api.post(url, {"note": "Letter", "source": source.pk})

    assert refused.status_code == 400 and "source" in refused.json()
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    change = Commitment.objects.get().status_changes.first()
    assert (change.to_status, change.changed_by, change.note) == (
        "confirmed",
        coordinator,
        "Letter",
    )


def test_deliver_records_the_amount(coordinator_api):
    commitment = factories.CommitmentFactory(amount="100", source=factories.SourceFactory())
    services.commitment_change_status(commitment=commitment, to_status="confirmed", by=None)

    response = coordinator_api.post(
        f"/api/v1/commitments/{commitment.pk}/deliver/", {"amount": "100.00"}
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["amount_delivered"]) == (
        "delivered",
        "100.00",
    )


def test_a_reader_cannot_confirm(api_client, reader):
    commitment = factories.CommitmentFactory(source=factories.SourceFactory())
    api_client.force_authenticate(reader)

    response = api_client.post(f"/api/v1/commitments/{commitment.pk}/confirm/", {})

    assert response.status_code == 403


def test_totals_by_status_in_xof_and_usd_with_the_rates_used(coordinator_api, api_today):
    project = factories.ProjectFactory()
    factories.ExchangeRateFactory(rate_on=date(2026, 1, 2), xof_per_unit="600")
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(project=project), amount="1000", currency="EUR"
    )
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(project=project), amount="100", currency="USD"
    )
    factories.CommitmentFactory(amount="5", currency="XOF")  # Another project.

    response = coordinator_api.get(f"/api/v1/commitments/totals/?project={project.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["rows"][0] == {
        "status": "announced",
        "status_label": "Announced",
        "count": 2,
        "xof": "715957",
        "usd": "1193.26",
        "unconverted": {},
    }
    assert body["rates"] == [
        {"currency": "EUR", "xof_per_unit": "655.957000", "on": None, "fixed": True},
        {"currency": "USD", "xof_per_unit": "600.000000", "on": "2026-01-02", "fixed": False},
    ]
    assert "half up" in body["rounding"]


def test_each_commitment_carries_its_amount_in_xof_and_usd(coordinator_api, api_today):
    factories.ExchangeRateFactory(rate_on=date(2026, 1, 2), xof_per_unit="600")
    factories.CommitmentFactory(amount="1000.50", currency="EUR")

    row = coordinator_api.get("/api/v1/commitments/").json()["results"][0]
    csv = b"".join(
        coordinator_api.get("/api/v1/commitments/?format=csv").streaming_content
    ).decode()

    # 1000.50 × 655.957 = 656284.9785 XOF = 1093.808… USD.
    assert (row["amount_xof"], row["amount_usd"]) == ("656285", "1093.81")
    assert "Amount in XOF" in csv and "656285" in csv


def test_agreement_moves_by_actions_and_refuses_skipping_review(coordinator_api):
    response = coordinator_api.post(
        "/api/v1/agreements/",
        {
            "slug": "mou",
            "kind": "mou",
            "title": "MoU",
            "party_organizations": [
                factories.OrganizationFactory().pk,
                factories.OrganizationFactory().pk,
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert len(response.json()["parties"]) == 2

    skipped = coordinator_api.post(f"/api/v1/agreements/{pk}/sign/", {})
    submitted = coordinator_api.post(f"/api/v1/agreements/{pk}/submit/", {"note": "Ready"})
    patched = coordinator_api.patch(f"/api/v1/agreements/{pk}/", {"status": "in_force"})

    assert skipped.status_code == 400
    assert submitted.status_code == 200 and submitted.json()["status"] == "under_review"
    assert patched.status_code == 200 and patched.json()["status"] == "under_review"


def test_a_document_is_uploaded_as_multipart_and_downloaded(coordinator_api, api_client, reader):
    organization = factories.OrganizationFactory()

    created = coordinator_api.post(
        "/api/v1/documents/",
        {
            "title": "MoU",
            "organization": organization.pk,
            "file": SimpleUploadedFile("mou.pdf", PDF),
        },
        format="multipart",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["content_type"], body["size"], body["revision"]) == (
        "application/pdf",
        len(PDF),
        1,
    )
    api_client.force_authenticate(reader)
    download = api_client.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF


def test_an_executable_renamed_pdf_is_a_400(coordinator_api):
    response = coordinator_api.post(
        "/api/v1/documents/",
        {
            "title": "Virus",
            "organization": factories.OrganizationFactory().pk,
            "file": SimpleUploadedFile("mou.pdf", EXE),
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "file" in response.json()
    assert not Document.objects.exists()


def test_an_upload_over_the_limit_is_a_413(coordinator_api, settings):
    settings.CRM_DOCUMENT_MAX_BYTES = 1000

    response = coordinator_api.post(
        "/api/v1/documents/",
        {
            "title": "Big",
            "organization": factories.OrganizationFactory().pk,
            "file": SimpleUploadedFile("big.pdf", PDF + b"\0" * 100_000),
        },
        format="multipart",
    )

    assert response.status_code == 413
    assert not Document.objects.exists()


def test_download_needs_credentials_and_the_permission(api_client):
    document = services.document_create(
        by=None,
        file=ContentFile(PDF, name="a.pdf"),
        title="A",
        organization=factories.OrganizationFactory(),
    )
    url = f"/api/v1/documents/{document.pk}/download/"

    anonymous = api_client.get(url)
    api_client.force_authenticate(factories.UserFactory(username="nobody"))
    forbidden = api_client.get(url)

    assert anonymous.status_code == 401
    assert forbidden.status_code == 403


def test_the_file_of_a_document_cannot_be_replaced(coordinator_api):
    document = services.document_create(
        by=None,
        file=ContentFile(PDF, name="a.pdf"),
        title="A",
        organization=factories.OrganizationFactory(),
    )

    response = coordinator_api.patch(
        f"/api/v1/documents/{document.pk}/",
        {"file": SimpleUploadedFile("b.pdf", PDF + b"%x\n")},
        format="multipart",
    )

    assert response.status_code == 400
    document.refresh_from_db()
    assert document.file.read() == PDF


def _grow(n):
    project = factories.ProjectFactory()
    for _ in range(n):
        commitment = factories.CommitmentFactory(
            partnership=factories.PartnershipFactory(project=project), currency="USD"
        )
        services.commitment_change_status(commitment=commitment, to_status="lapsed", by=None)
        agreement = services.agreement_create(
            by=None,
            slug=f"a-{commitment.pk}",
            kind="mou",
            title="A",
            parties=[factories.OrganizationFactory(), factories.OrganizationFactory()],
            projects=[project],
        )
        services.document_create(
            by=None, file=ContentFile(PDF, name="a.pdf"), title="A", agreement=agreement
        )
        factories.ExchangeRateFactory(rate_on=date(2025, 1, 1 + commitment.pk % 28))


@pytest.mark.parametrize(
    "resource",
    [
        "commitments",
        "commitments/totals",
        "commitment-status-changes",
        "agreements",
        "agreement-status-changes",
        "documents",
        "exchange-rates",
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_lists_take_the_same_queries_whatever_the_rows(coordinator_api, resource, fmt):
    if resource.endswith("totals") and fmt == "csv":
        pytest.skip("the totals are JSON")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = coordinator_api.get(f"/api/v1/{resource}/?format={fmt}")
            assert response.status_code == 200
            if fmt == "csv":
                b"".join(response.streaming_content)
        return len(queries)

    _grow(2)
    count()
    few = count()
    _grow(10)

    assert count() == few


@pytest.mark.parametrize(
    "resource",
    [
        "commitments",
        "commitment-status-changes",
        "agreements",
        "agreement-status-changes",
        "documents",
        "exchange-rates",
    ],
)
def test_the_export_gives_what_the_serializer_gives(coordinator_api, api_today, resource):
    """Each column headed by a serializer field's label holds that field's value.

    Moments are left out (the file shows local time, the JSON ISO 8601), and
    the nested parties are compared through their ids and names.
    """
    _grow(3)
    factories.CommitmentFactory(amount=None, description="Plain")
    factories.ExchangeRateFactory(rate_on=api_today, xof_per_unit="601.123456")
    view = coordinator_api.get(f"/api/v1/{resource}/?page_size=100")
    assert view.status_code == 200
    results = view.json()["results"]
    response = coordinator_api.get(f"/api/v1/{resource}/?format=csv")
    exported = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    serializer = view.renderer_context["view"].get_serializer()

    assert len(exported) == len(results) > 2
    compared = 0
    for row, item in zip(exported, results, strict=True):
        for name, serializer_field in serializer.fields.items():
            header = capfirst(str(serializer_field.label))
            if name not in item or header not in row or name.endswith("_at"):
                continue
            value = item[name]
            if name == "parties":
                value = "; ".join(str(party["organization"]) for party in value)
                row_value = "; ".join(sorted(row[header].split("; "), key=int))
                value = "; ".join(sorted(value.split("; "), key=int)) if value else ""
            else:
                row_value = row[header]
            if isinstance(value, bool):
                # A file says yes or no in words, in the request's language (English).
                value = "yes" if value else "no"
            elif isinstance(value, list):
                value = "; ".join(str(v) for v in sorted(value))
            assert row_value == ("" if value is None else str(value)), (name, row_value, value)
            compared += 1
    assert compared >= 5 * len(results)


def test_an_odd_is_demo_filter_on_agreements_is_a_400(coordinator_api):
    factories.AgreementFactory()

    assert coordinator_api.get("/api/v1/agreements/?is_demo=0.3").status_code == 400
    assert coordinator_api.get("/api/v1/agreements/?is_demo=false").status_code == 200
