"""Commitments and agreements: status moves through the services, pages, admin, digest."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm import digests, services
from crm.models import (
    Agreement,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    ExchangeRate,
)
from crm.versions import StaleVersion, version_of
from tests import factories
from tests.test_admin import form_data

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def commitments_today(pages_today):
    return pages_today


def in_english(client):
    """Show the pages in English: the user's choice (here its cookie) wins over French."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# Commitments: the service.


def test_a_status_change_is_recorded_with_its_author_and_note(staff_user):
    source = factories.SourceFactory()
    commitment = services.commitment_create(
        by=staff_user,
        partnership=factories.PartnershipFactory(),
        kind=Commitment.Kind.FINANCING,
        description="Grant",
        amount=Decimal("1000"),
        currency="USD",
    )

    change = services.commitment_change_status(
        commitment=commitment, to_status="confirmed", by=staff_user, note="Letter", source=source
    )

    commitment.refresh_from_db()
    assert commitment.status == "confirmed"
    assert commitment.source == source
    assert (change.from_status, change.to_status, change.changed_by, change.note) == (
        "announced",
        "confirmed",
        staff_user,
        "Letter",
    )
    assert list(commitment.status_changes.values_list("from_status", "to_status")) == [
        ("announced", "confirmed"),
        ("", "announced"),
    ]
    history = commitment.history.first()
    assert (history.status, history.history_user, history.history_change_reason) == (
        "confirmed",
        staff_user,
        "Letter",
    )


def test_confirming_without_a_source_or_document_is_refused(staff_user):
    commitment = factories.CommitmentFactory()

    with pytest.raises(ValidationError) as error:
        services.commitment_change_status(
            commitment=commitment, to_status="confirmed", by=staff_user
        )

    assert "source" in error.value.message_dict
    commitment.refresh_from_db()
    assert commitment.status == "announced"
    assert not CommitmentStatusChange.objects.exists()


def test_confirming_with_an_attached_document_is_allowed(staff_user):
    commitment = factories.CommitmentFactory()
    services.document_create(
        by=staff_user,
        file=ContentFile(PDF, name="letter.pdf"),
        title="Letter",
        commitment=commitment,
    )

    services.commitment_change_status(commitment=commitment, to_status="confirmed", by=staff_user)

    commitment.refresh_from_db()
    assert commitment.status == "confirmed"


def test_delivery_in_parts_until_the_amount_is_reached(staff_user):
    commitment = factories.CommitmentFactory(amount="1000", source=factories.SourceFactory())
    services.commitment_change_status(commitment=commitment, to_status="confirmed", by=staff_user)

    services.commitment_deliver(commitment=commitment, amount=Decimal("400"), by=staff_user)
    commitment.refresh_from_db()
    assert (commitment.status, commitment.amount_delivered) == ("confirmed", Decimal("400"))

    services.commitment_deliver(commitment=commitment, amount=Decimal("600"), by=staff_user)
    commitment.refresh_from_db()
    assert (commitment.status, commitment.amount_delivered) == ("delivered", Decimal("1000"))
    assert list(commitment.status_changes.values_list("to_status", "amount"))[:2] == [
        ("delivered", Decimal("600")),
        ("confirmed", Decimal("400")),
    ]


@pytest.mark.parametrize(
    ("start", "to_status"),
    [("announced", "delivered"), ("withdrawn", "confirmed"), ("announced", "announced")],
)
def test_moves_outside_the_lifecycle_are_refused(staff_user, start, to_status):
    commitment = factories.CommitmentFactory(status=start)

    with pytest.raises(ValidationError):
        if to_status == "delivered":
            services.commitment_deliver(commitment=commitment, amount=Decimal(1), by=staff_user)
        else:
            services.commitment_change_status(
                commitment=commitment, to_status=to_status, by=staff_user
            )

    commitment.refresh_from_db()
    assert commitment.status == start


# Agreements: the lifecycle.


def _signed_parties(agreement, *, signed: bool = True):
    for _ in range(2):
        agreement.parties.create(
            organization=factories.OrganizationFactory(),
            signed_on=date(2026, 1, 10) if signed else None,
        )


def test_the_agreement_lifecycle_from_draft_to_expiry(staff_user, today):
    agreement = services.agreement_create(
        by=staff_user,
        slug="mou",
        kind="mou",
        title="MoU",
        expires_on=today,
        parties=[factories.OrganizationFactory(), factories.OrganizationFactory()],
    )
    agreement.parties.update(signed_on=date(2026, 1, 10))

    for to_status, extra in [
        ("under_review", {}),
        ("draft", {}),
        ("under_review", {}),
        ("signed", {}),
        ("in_force", {"effective_on": date(2026, 1, 12)}),
        ("expired", {}),
    ]:
        services.agreement_change_status(
            agreement=agreement, to_status=to_status, by=staff_user, today=today, **extra
        )

    agreement.refresh_from_db()
    assert agreement.status == "expired"
    assert agreement.effective_on == date(2026, 1, 12)
    assert AgreementStatusChange.objects.filter(agreement=agreement).count() == 7
    assert set(AgreementStatusChange.objects.values_list("changed_by", flat=True)) == {
        staff_user.pk
    }


@pytest.mark.parametrize(
    ("start", "to_status", "setup", "field"),
    [
        ("draft", "signed", None, "status"),  # Not reviewed.
        ("draft", "in_force", None, "status"),
        ("under_review", "signed", "unsigned", "status"),  # A party has no date.
        ("signed", "in_force", "signed", "effective_on"),  # No effective date.
        ("in_force", "expired", "future", "status"),  # Not yet at its expiry.
        ("expired", "in_force", None, "status"),
        ("terminated", "draft", None, "status"),
    ],
)
def test_refused_agreement_moves(staff_user, today, start, to_status, setup, field):
    agreement = factories.AgreementFactory(status=start)
    if setup == "unsigned":
        _signed_parties(agreement, signed=False)
    if setup == "future":
        agreement.expires_on = today + timedelta(days=1)
        agreement.save()

    with pytest.raises(ValidationError) as error:
        services.agreement_change_status(
            agreement=agreement, to_status=to_status, by=staff_user, today=today
        )

    assert field in error.value.message_dict
    agreement.refresh_from_db()
    assert agreement.status == start
    assert not AgreementStatusChange.objects.exists()


def test_an_obligation_becomes_a_follow_up_of_the_agreement(staff_user, today):
    project = factories.ProjectFactory()
    agreement = factories.AgreementFactory()
    agreement.projects.add(project)

    follow_up = services.agreement_obligation_create(
        agreement=agreement,
        by=staff_user,
        title="Send the quarterly report",
        project=project,
        assignee=staff_user,
        due_on=today + timedelta(days=90),
    )

    assert follow_up.agreement == agreement
    assert list(agreement.follow_ups.all()) == [follow_up]


# Signing party by party: through the service, named in the agreement's history.


def _agreement_with_two_parties(by):
    return services.agreement_create(
        by=by,
        slug="mou",
        kind="mou",
        title="MoU",
        parties=[
            factories.OrganizationFactory(name="Ecobank"),
            factories.OrganizationFactory(name="Orabank"),
        ],
    )


def test_signing_a_party_records_the_date_and_who_in_the_agreement_s_history(staff_user):
    agreement = _agreement_with_two_parties(staff_user)
    party = agreement.parties.get(organization__name="Ecobank")

    with translation.override("en"):
        services.agreement_party_sign(party=party, signed_on=date(2026, 1, 10), by=staff_user)

    party.refresh_from_db()
    assert party.signed_on == date(2026, 1, 10)
    last = agreement.history.first()
    assert (last.history_user, last.history_change_reason) == (
        staff_user,
        "Signature date of Ecobank: 2026-01-10",
    )


def test_signing_a_party_again_on_the_same_date_writes_nothing(staff_user):
    agreement = _agreement_with_two_parties(staff_user)
    party = agreement.parties.first()
    services.agreement_party_sign(party=party, signed_on=date(2026, 1, 10), by=staff_user)

    services.agreement_party_sign(party=party, signed_on=date(2026, 1, 10), by=staff_user)

    assert agreement.history.count() == 2  # Created, then signed once.


def test_signing_a_party_on_a_stale_version_of_the_agreement_is_refused(staff_user, coordinator):
    agreement = _agreement_with_two_parties(staff_user)
    first, second = agreement.parties.all()
    opened = version_of(agreement)
    services.agreement_party_sign(party=first, signed_on=date(2026, 1, 10), by=staff_user)

    with pytest.raises(StaleVersion) as refused:
        services.agreement_party_sign(
            party=second, signed_on=date(2026, 1, 11), by=coordinator, version=opened
        )

    assert refused.value.changed_by == staff_user
    second.refresh_from_db()
    assert second.signed_on is None


def test_the_agreement_page_records_a_signature_through_the_service(
    client, staff_user, coordinator
):
    agreement = _agreement_with_two_parties(coordinator)
    party = agreement.parties.get(organization__name="Ecobank")
    client.force_login(staff_user)

    response = in_english(client).post(
        f"/agreements/{agreement.slug}/signature/",
        {"party": party.pk, "signed_on": "2026-01-10"},
    )

    assert response.status_code == 302
    party.refresh_from_db()
    assert party.signed_on == date(2026, 1, 10)
    last = agreement.history.first()
    assert (last.history_user, last.history_change_reason) == (
        staff_user,
        "Signature date of Ecobank: 2026-01-10",
    )


def test_the_admin_records_a_party_s_signature_through_the_service(
    client, staff_user, coordinator
):
    agreement = _agreement_with_two_parties(staff_user)
    ecobank, orabank = agreement.parties.order_by("organization__name")
    client.force_login(coordinator)
    change = f"/admin/crm/agreement/{agreement.pk}/change/"
    data = form_data(client.get(change))
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.startswith("parties-") and key.endswith("-id") and value == str(orabank.pk)
    )

    response = in_english(client).post(
        change, {**data, f"parties-{index}-signed_on": "2026-01-11"}
    )

    assert response.status_code == 302
    orabank.refresh_from_db()
    ecobank.refresh_from_db()
    assert (ecobank.signed_on, orabank.signed_on) == (None, date(2026, 1, 11))
    last = agreement.history.first()
    assert (last.history_user, last.history_change_reason) == (
        coordinator,
        "Signature date of Orabank: 2026-01-11",
    )


# The digest: agreements ending within 60 and 30 days.


@pytest.mark.parametrize(
    ("days", "listed", "label"),
    [
        (10, True, "within 30 days"),
        (30, True, "within 30 days"),
        (45, True, "within 60 days"),
        (60, True, "within 60 days"),
        (61, False, None),
        (-1, False, None),
    ],
)
def test_expiry_in_the_owner_s_digest_at_60_and_30_days(staff_user, today, days, listed, label):
    factories.AgreementFactory(
        title="Visa MoU", owner=staff_user, status="in_force", expires_on=today + timedelta(days)
    )
    # Someone else's agreement, and a draft: neither is in this digest.
    factories.AgreementFactory(
        title="Other", owner=factories.UserFactory(), status="in_force", expires_on=today
    )
    factories.AgreementFactory(title="Draft", owner=staff_user, expires_on=today)

    digest = digests.compute(staff_user, on=today)

    assert [a.title for a in digest.agreements_ending] == (["Visa MoU"] if listed else [])
    assert digest.is_empty is not listed
    if listed:
        assert digest.agreements_ending[0].days_left == days
        assert (label == "within 30 days") is digest.agreements_ending[0].within_near


def test_the_digest_email_names_the_agreement_ending(staff_user, today, mailoutbox):
    staff_user.email = "amavi@example.org"
    staff_user.save()
    factories.AgreementFactory(
        title="Visa MoU", owner=staff_user, status="signed", expires_on=today + timedelta(20)
    )

    digests.run(on=today)

    body = mailoutbox[0].body
    assert "Visa MoU" in body
    assert "30" in body and "60" in body
    assert "accord" in mailoutbox[0].subject.lower() or "agreement" in mailoutbox[0].subject


# Pages.


def _mixed_project(coordinator):
    project = factories.ProjectFactory(code="payments", name="Digital payments")
    visa = factories.PartnershipFactory(project=project)
    factories.ExchangeRateFactory(rate_on=date(2026, 1, 2), xof_per_unit="600")
    factories.CommitmentFactory(partnership=visa, amount="1000", currency="EUR")
    factories.CommitmentFactory(partnership=visa, amount="100", currency="USD")
    return project


def test_the_project_page_shows_totals_by_status_in_xof_and_usd_with_the_rate(
    client, coordinator, commitments_today
):
    _mixed_project(coordinator)
    client.force_login(coordinator)

    response = in_english(client).get("/projects/payments/")

    html = response.content.decode()
    assert response.status_code == 200
    # 1000 × 655.957 + 100 × 600 = 715957 XOF = 1193.26 USD.
    assert "715,957" in html and "1,193.26" in html
    assert "1 EUR = 655.957 XOF (fixed parity)" in html
    assert "1 USD = 600 XOF (rate of 02/01/2026)" in html  # 2 January, day first.
    assert "<svg" in html and "Commitments by status" in html


def test_the_project_page_is_french_by_default(client, coordinator, commitments_today):
    _mixed_project(coordinator)
    client.force_login(coordinator)

    html = client.get("/projects/payments/").content.decode()

    assert "Engagements" in html and "parité fixe" in html


def test_a_reader_without_the_commitment_permission_sees_no_amount(
    client, staff_user, commitments_today
):
    from django.contrib.auth.models import Permission

    project = _mixed_project(staff_user)
    for codename in ("view_commitment", "view_agreement", "view_document"):
        staff_user.groups.first().permissions.remove(Permission.objects.get(codename=codename))
    client.force_login(staff_user)

    html = client.get(project.get_absolute_url()).content.decode()

    assert 'id="commitments"' not in html


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def _grow(project, organization, n):
    """Add n commitments, agreements and documents to the project and the organisation."""
    for _ in range(n):
        for partnership in (
            factories.PartnershipFactory(project=project),
            factories.PartnershipFactory(organization=organization),
        ):
            commitment = factories.CommitmentFactory(partnership=partnership, currency="USD")
            services.commitment_change_status(
                commitment=commitment, to_status="withdrawn", by=None
            )
        agreement = factories.AgreementFactory()
        agreement.projects.add(project)
        agreement.parties.create(organization=organization)
        agreement.parties.create(organization=factories.OrganizationFactory())
        services.document_create(
            by=None,
            file=ContentFile(PDF, name="a.pdf"),
            title="A",
            organization=organization,
            agreement=agreement,
        )


@pytest.mark.parametrize("page", ["project", "organization"])
def test_project_and_organization_pages_take_the_same_queries_whatever_the_rows(
    client, coordinator, commitments_today, page
):
    project = factories.ProjectFactory(code="p")
    organization = factories.OrganizationFactory(slug="o")
    factories.ExchangeRateFactory()
    client.force_login(coordinator)
    url = "/projects/p/" if page == "project" else "/organizations/o/"
    _grow(project, organization, 2)
    _count(client, url)
    few = _count(client, url)

    _grow(project, organization, 12)

    assert _count(client, url) == few


def test_commitment_and_agreement_pages_take_a_fixed_number_of_queries(
    client, coordinator, django_assert_max_num_queries
):
    commitment = factories.CommitmentFactory(source=factories.SourceFactory())
    services.commitment_change_status(commitment=commitment, to_status="confirmed", by=coordinator)
    agreement = factories.AgreementFactory(slug="mou")
    _signed_parties(agreement)
    client.force_login(coordinator)
    client.get(commitment.get_absolute_url())

    with django_assert_max_num_queries(14):
        assert client.get(commitment.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get("/agreements/mou/").status_code == 200


def test_the_timeline_shows_commitment_and_agreement_moves(client, coordinator, commitments_today):
    organization = factories.OrganizationFactory(slug="visa")
    commitment = factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(organization=organization),
        source=factories.SourceFactory(),
    )
    services.commitment_change_status(
        commitment=commitment, to_status="confirmed", by=coordinator, note="Signed letter"
    )
    agreement = services.agreement_create(
        by=coordinator, slug="mou", kind="mou", title="Visa MoU", parties=[organization]
    )
    services.agreement_change_status(agreement=agreement, to_status="under_review", by=coordinator)
    client.force_login(coordinator)

    html = in_english(client).get("/organizations/visa/").content.decode()

    assert "entry-commitment_change" in html and "Signed letter" in html
    assert "entry-agreement_change" in html and "Under review" in html


def test_a_commitment_is_recorded_and_confirmed_from_the_pages(client, staff_user):
    partnership = factories.PartnershipFactory(project=factories.ProjectFactory(code="p"))
    source = factories.SourceFactory()
    client.force_login(staff_user)

    response = client.post(
        "/commitments/new/?project=p",
        {
            "partnership": partnership.pk,
            "kind": "financing",
            "description": "Grant",
            "amount": "5000",
            "currency": "EUR",
        },
    )
    commitment = Commitment.objects.get()
    assert response.status_code == 302
    assert commitment.created_by == staff_user

    refused = client.post(f"/commitments/{commitment.pk}/status/", {"status": "confirmed"})
    commitment.refresh_from_db()
    assert refused.status_code == 302 and commitment.status == "announced"

    client.post(
        f"/commitments/{commitment.pk}/status/", {"status": "confirmed", "source": source.pk}
    )
    commitment.refresh_from_db()
    assert commitment.status == "confirmed"
    assert commitment.status_changes.first().changed_by == staff_user


def test_a_reader_cannot_move_a_commitment(client, reader):
    commitment = factories.CommitmentFactory(source=factories.SourceFactory())
    client.force_login(reader)

    response = client.post(f"/commitments/{commitment.pk}/status/", {"status": "confirmed"})

    assert response.status_code == 403
    commitment.refresh_from_db()
    assert commitment.status == "announced"


def test_the_mission_report_shows_what_each_partner_met_committed_since(client, coordinator):
    mission = factories.MissionFactory(start_on=date(2023, 9, 20))
    visa = factories.OrganizationFactory(name="Visa")
    factories.InteractionFactory(mission=mission, organizations=[visa])
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(organization=visa), description="Pilot"
    )
    # Not met on the mission: not in its report.
    factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(
            organization=factories.OrganizationFactory(name="Elsewhere")
        )
    )
    client.force_login(coordinator)

    html = in_english(client).get(mission.get_absolute_url()).content.decode()

    assert "Committed since the mission" in html
    report = html[html.index("Committed since the mission") :]
    assert "Visa" in report and "Elsewhere" not in report


def test_the_dashboard_lists_agreements_ending_within_60_days(
    client, staff_user, today, pages_today
):
    factories.AgreementFactory(
        title="Ends soon", owner=staff_user, status="in_force", expires_on=today + timedelta(25)
    )
    factories.AgreementFactory(
        title="Ends later", owner=staff_user, status="in_force", expires_on=today + timedelta(90)
    )
    client.force_login(staff_user)

    html = in_english(client).get("/").content.decode()

    assert "Agreements ending within 60 days" in html
    assert "Ends soon" in html and "Ends later" not in html


# Admin: statuses are read-only and move by the action.


def test_the_admin_shows_the_status_read_only_and_moves_it_by_the_action(client, coordinator):
    commitment = factories.CommitmentFactory(source=factories.SourceFactory())
    client.force_login(coordinator)

    form = client.get(f"/admin/crm/commitment/{commitment.pk}/change/").content.decode()
    assert 'name="status"' not in form

    response = client.post(
        "/admin/crm/commitment/",
        {
            "action": "change_status",
            "_selected_action": [commitment.pk],
            "post": "yes",
            "status": "confirmed",
            "note": "From the admin",
        },
    )

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert commitment.status == "confirmed"
    assert commitment.status_changes.first().note == "From the admin"


def test_the_admin_changelists_take_the_same_queries_whatever_the_rows(client, coordinator):
    client.force_login(coordinator)
    urls = [
        "/admin/crm/commitment/",
        "/admin/crm/agreement/",
        "/admin/crm/document/",
        "/admin/crm/exchangerate/",
        "/admin/crm/agreementsignatory/",
    ]

    def grow(n):
        _grow(factories.ProjectFactory(), factories.OrganizationFactory(), n)
        for _ in range(n):
            party = factories.AgreementFactory().parties.create(
                organization=factories.OrganizationFactory()
            )
            party.signatories.create(
                affiliation=factories.AffiliationFactory(organization=party.organization)
            )
        factories.ExchangeRateFactory(rate_on=date(2025, 1, n))

    grow(2)
    few = [_count(client, url) for url in urls]

    grow(10)

    assert [_count(client, url) for url in urls] == few


# Exchange rates from a CSV; demonstration data.


def test_exchange_rates_are_imported_from_a_csv_all_or_nothing(db, tmp_path):
    good = tmp_path / "rates.csv"
    good.write_text("currency,date,xof_per_unit,note\nUSD,2026-01-02,601.5,BCEAO\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("currency,date,xof_per_unit\nUSD,2026-01-03,600\nEUR,2026-01-03,655\n")

    call_command("import_exchange_rates", str(good), stdout=StringIO())
    with pytest.raises(Exception, match="line 3"):
        call_command("import_exchange_rates", str(bad), stdout=StringIO())

    assert list(ExchangeRate.objects.values_list("currency", "rate_on", "xof_per_unit")) == [
        ("USD", date(2026, 1, 2), Decimal("601.5"))
    ]


def test_the_fixtures_hold_no_commitment_agreement_or_document(db):
    call_command("loaddata", "compact_togo_2023", verbosity=0)

    assert not Commitment.objects.exists()
    assert not Agreement.objects.exists()
    assert not ExchangeRate.objects.exists()


def test_demo_data_shows_on_the_digital_payments_page(db, client, today, pages_today):
    """Acceptance: on the demo data, commitments by status in XOF and USD with the rate
    used, and a draft MoU with its document."""
    call_command("loaddata", "compact_togo_2023", verbosity=0)
    call_command("load_demo", today=today, stdout=StringIO())
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="demo-coordination"))

    html = in_english(client).get("/projects/paiements-digitaux/").content.decode()

    assert Commitment.objects.filter(is_demo=False).count() == 0
    assert all(c.description.startswith("[Démo]") for c in Commitment.objects.all())
    section = html[html.index('id="commitments"') :]
    for status in ("Announced", "Confirmed", "Delivered", "Withdrawn"):
        assert status in section
    assert "XOF" in section and "USD" in section
    assert "1 USD = 600 XOF (rate of 01/01/2026)" in section
    mou = Agreement.objects.get(is_demo=True)
    assert mou.status == "draft" and mou.kind == "mou"
    assert mou.title in html.replace("&#x27;", "'")
    document = mou.documents.get()
    assert f"/documents/{document.pk}/download/" in html


def test_only_coordination_writes_exchange_rates(staff_user, coordinator, reader):
    for user in (staff_user, reader):
        assert user.has_perm("crm.view_exchangerate")
        assert not user.has_perm("crm.add_exchangerate")
        assert not user.has_perm("crm.change_exchangerate")
    assert staff_user.has_perm("crm.add_commitment") and staff_user.has_perm("crm.add_document")
    assert not reader.has_perm("crm.add_commitment")
    assert coordinator.has_perm("crm.add_exchangerate")


@pytest.mark.parametrize(
    "url",
    [
        "/documents/new/",
        "/documents/new/?commitment=abc",
        "/documents/new/?commitment=999999",
        "/documents/new/?replaces=999999",
        "/documents/new/?organization=nobody",
        "/commitments/new/?project=nothing",
        "/commitments/999999/",
        "/agreements/nothing/",
        "/documents/999999/download/",
    ],
)
def test_odd_parameters_are_a_4xx_not_a_500(client, staff_user, url):
    client.force_login(staff_user)

    assert client.get(url).status_code in (400, 403, 404)


def test_the_dashboard_and_mission_report_take_the_same_queries_whatever_the_rows(
    client, coordinator, today, pages_today
):
    mission = factories.MissionFactory(start_on=date(2023, 9, 20))
    client.force_login(coordinator)

    def grow(n):
        for _ in range(n):
            organization = factories.OrganizationFactory()
            factories.InteractionFactory(mission=mission, organizations=[organization])
            factories.CommitmentFactory(
                partnership=factories.PartnershipFactory(organization=organization)
            )
            factories.AgreementFactory(
                owner=coordinator, status="in_force", expires_on=today + timedelta(days=20)
            )

    urls = ["/?scope=team", mission.get_absolute_url()]
    grow(2)
    [_count(client, url) for url in urls]
    few = [_count(client, url) for url in urls]
    grow(10)

    assert [_count(client, url) for url in urls] == few


def test_a_follow_up_is_added_to_a_commitment_from_its_page(client, staff_user, today):
    commitment = factories.CommitmentFactory()
    client.force_login(staff_user)

    response = client.post(
        f"/commitments/{commitment.pk}/follow-up/",
        {"title": "Ask for the signed letter", "assignee": staff_user.pk, "due_on": "2026-02-01"},
    )

    assert response.status_code == 302
    follow_up = commitment.follow_ups.get()
    assert (follow_up.project, follow_up.organization, follow_up.created_by) == (
        commitment.partnership.project,
        commitment.partnership.organization,
        staff_user,
    )


def test_the_agreement_form_opened_from_an_organisation_pre_fills_its_only_project(
    client, coordinator
):
    # Issue 19: the party was filled in from the organisation's page, the project not.
    visa = factories.OrganizationFactory(slug="visa", name="Visa")
    project = factories.ProjectFactory(code="payments")
    factories.PartnershipFactory(organization=visa, project=project)
    client.force_login(coordinator)

    form = client.get("/agreements/new/?organization=visa").context["form"]

    assert list(form["projects"].initial) == [project]
    assert list(form["parties"].initial) == [visa]


def test_a_financing_needs_its_amount_other_kinds_may_have_none(staff_user):
    partnership = factories.PartnershipFactory()

    with pytest.raises(ValidationError) as refused:
        services.commitment_create(
            by=staff_user, partnership=partnership, kind="financing", amount=None, currency="USD"
        )
    assistance = services.commitment_create(
        by=staff_user,
        partnership=partnership,
        kind="technical_assistance",
        amount=None,
        currency="XOF",
        description="Experts for the hub",
    )

    assert "amount" in refused.value.message_dict
    assert assistance.pk is not None
    assert not Commitment.objects.filter(kind="financing").exists()
