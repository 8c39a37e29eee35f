"""Likely duplicates, and merging two records into one: nothing lost, both histories kept."""

import datetime
import hashlib

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    Merge,
    MissionMember,
    Organization,
    Partnership,
    Person,
    StageChange,
)
from crm.views import duplicates
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def pair(staff_user):
    """Visa twice, each with its own links."""
    project = factories.ProjectFactory(code="payments")
    hub = factories.ProjectFactory(code="hub")
    kept = factories.OrganizationFactory(slug="visa", name="Visa", city="")
    other = factories.OrganizationFactory(
        slug="visa-inc", name="Visa Inc.", city="San Francisco", website="https://visa.com"
    )
    services.record_update(
        instance=other, changes={"description": "Typed twice."}, by=staff_user, version=None
    )
    person = factories.PersonFactory()
    factories.AffiliationFactory(person=person, organization=other, title="Country manager")
    both = factories.InteractionFactory(title="Both were there", organizations=[kept, other])
    alone = factories.InteractionFactory(title="Only the other", organizations=[other])
    mine = services.partnership_create(
        by=staff_user, organization=kept, project=project, role="payment_network", owner=staff_user
    )
    theirs = services.partnership_create(
        by=staff_user,
        organization=other,
        project=project,
        role="payment_network",
        notes="Met in DC.",
    )
    services.partnership_change_stage(partnership=theirs, to_stage="exploring", by=staff_user)
    hub_partnership = services.partnership_create(
        by=staff_user, organization=other, project=hub, role="investor"
    )
    follow_up = factories.FollowUpFactory(
        title="Call Visa Inc.", organization=other, project=project
    )
    mission = factories.MissionFactory(organizer=other)
    return locals()


def test_merging_moves_every_link_to_the_record_kept(pair, coordinator):
    kept, other = pair["kept"], pair["other"]

    merge = services.organization_merge(
        kept=kept, other=other, by=coordinator, reason="Same company"
    )

    assert not Organization.objects.filter(pk=other.pk).exists()
    assert Affiliation.objects.get(person=pair["person"]).organization == kept
    assert set(Interaction.objects.get(pk=pair["both"].pk).organizations.all()) == {kept}
    assert set(Interaction.objects.get(pk=pair["alone"].pk).organizations.all()) == {kept}
    assert FollowUp.objects.get(pk=pair["follow_up"].pk).organization == kept
    assert pair["mission"].__class__.objects.get(pk=pair["mission"].pk).organizer == kept
    assert Partnership.objects.get(pk=pair["hub_partnership"].pk).organization == kept
    # Two partnerships with the same project become one: the kept one, with
    # the other's stage history and notes.
    (payments,) = Partnership.objects.filter(organization=kept, project=pair["project"])
    assert payments.pk == pair["mine"].pk
    assert "Met in DC." in payments.notes
    assert StageChange.objects.filter(partnership=payments).count() == 3
    assert (merge.kept_id, merge.removed_id, merge.removed_slug) == (kept.pk, other.pk, "visa-inc")
    assert merge.merged_by == coordinator and merge.reason == "Same company"
    assert merge.moved["followup.moved"] == 1
    assert merge.moved["partnership.folded"] == 1


def test_merging_keeps_both_histories_and_records_the_merge(pair, coordinator):
    kept, other = pair["kept"], pair["other"]

    services.organization_merge(kept=kept, other=other, by=coordinator)

    kept.refresh_from_db()
    assert (kept.city, kept.website) == ("San Francisco", "https://visa.com")
    newest = kept.history.first()
    assert newest.history_user == coordinator
    assert "Visa Inc." in newest.history_change_reason
    removed = Organization.history.filter(id=other.pk)
    assert removed.count() == 3  # Created, edited, removed: its story stays.
    assert removed.first().history_type == "-"
    assert "Visa" in removed.first().history_change_reason
    moved = FollowUp.history.filter(id=pair["follow_up"].pk).first()
    assert (moved.organization_id, moved.history_user) == (kept.pk, coordinator)


def test_merging_a_record_with_itself_is_refused(pair, coordinator):
    with pytest.raises(ValidationError):
        services.organization_merge(kept=pair["kept"], other=pair["kept"], by=coordinator)


def test_merging_people_moves_roles_meetings_missions_and_follow_ups(coordinator):
    kept = factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    other = factories.PersonFactory(given_name="Stephane", family_name="Kpowbie", email="s@ex.tg")
    organization = factories.OrganizationFactory()
    factories.AffiliationFactory(
        person=kept, organization=organization, title="SG", is_primary=True
    )
    factories.AffiliationFactory(
        person=other, organization=organization, title="SG", is_primary=True
    )
    meeting = factories.InteractionFactory()
    meeting.people.set([kept, other])
    mission = factories.MissionFactory()
    MissionMember.objects.create(mission=mission, person=other, role="Coordinator")
    follow_up = factories.FollowUpFactory(person=other)

    services.person_merge(kept=kept, other=other, by=coordinator)

    kept.refresh_from_db()
    assert kept.email == "s@ex.tg"
    assert not Person.objects.filter(pk=other.pk).exists()
    roles = Affiliation.objects.filter(person=kept).order_by("pk")
    assert [(r.title, r.is_active) for r in roles] == [("SG", True), ("SG", False)]
    assert list(meeting.people.all()) == [kept]
    assert MissionMember.objects.get(mission=mission).person == kept
    assert FollowUp.objects.get(pk=follow_up.pk).person == kept
    assert Merge.objects.get().kind == "person"


# The pages.


def test_the_duplicates_page_is_for_coordination_only(client, staff_user, reader):
    assert client.get("/duplicates/")["Location"].startswith("/accounts/login/")
    for user in (staff_user, reader):
        client.force_login(user)
        assert client.get("/duplicates/").status_code == 403
        assert client.get("/duplicates/organizations/1/2/").status_code == 403
        assert client.post("/duplicates/organizations/1/2/").status_code == 403


def test_the_duplicates_page_lists_names_alike_accents_aside(client, coordinator):
    factories.OrganizationFactory(name="Université de Stanford")
    factories.OrganizationFactory(name="Universite de stanford")
    factories.OrganizationFactory(name="Mastercard")
    factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    factories.PersonFactory(given_name="Stephane", family_name="Kpowbie")
    client.force_login(coordinator)

    response = client.get("/duplicates/")

    pairs = [{str(a), str(b)} for a, b, _score in response.context["organization_pairs"]]
    assert pairs == [{"Université de Stanford", "Universite de stanford"}]
    assert len(response.context["person_pairs"]) == 1


def test_the_duplicates_page_queries_do_not_grow_with_rows(client, coordinator):
    client.force_login(coordinator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/duplicates/").status_code == 200
        return len(captured)

    factories.OrganizationFactory(name="Visa")
    factories.OrganizationFactory(name="Visa Inc")
    few = queries()
    for number in range(10):
        factories.OrganizationFactory(name=f"Acme {number}")
        factories.OrganizationFactory(name=f"Acme {number} Ltd")
    assert queries() == few


def _unlike_names(count: int) -> list[str]:
    """Return names alike to nothing (hex digests share few trigrams)."""
    return [hashlib.sha1(str(number).encode()).hexdigest()[:12] for number in range(count)]


def _age(*records) -> None:
    """Make records look long unchanged (update() leaves auto_now alone)."""
    type(records[0]).objects.filter(pk__in=[r.pk for r in records]).update(
        updated_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )


def _listed(response, kind: str = "organization") -> list[set[str]]:
    return [{str(a), str(b)} for a, b, _score in response.context[f"{kind}_pairs"]]


def test_the_duplicates_page_says_what_it_compared(client, coordinator):
    client.force_login(coordinator)

    response = client.get("/duplicates/")

    assert (
        f"the {duplicates.RECENT} organisations and the {duplicates.RECENT} people "
        "most recently added or changed, each against all the others" in response.text
    )


def test_a_recent_record_is_matched_with_an_old_one(client, coordinator):
    old = factories.OrganizationFactory(name="Université de Stanford")
    _age(old)
    for name in _unlike_names(duplicates.RECENT):
        factories.OrganizationFactory(name=name)
    factories.OrganizationFactory(name="Universite de stanford")
    client.force_login(coordinator)

    response = client.get("/duplicates/")

    assert _listed(response) == [{"Université de Stanford", "Universite de stanford"}]


def test_an_old_pair_beyond_the_recent_records_is_not_listed(client, coordinator):
    # Documented: only the RECENT newest records are compared with the others.
    _age(
        factories.OrganizationFactory(name="Université de Stanford"),
        factories.OrganizationFactory(name="Universite de stanford"),
    )
    for name in _unlike_names(duplicates.RECENT):
        factories.OrganizationFactory(name=name)
    client.force_login(coordinator)

    assert _listed(client.get("/duplicates/")) == []


def test_a_pair_of_two_recent_records_is_listed_once(client, coordinator):
    visa = factories.OrganizationFactory(name="Visa")
    visa_inc = factories.OrganizationFactory(name="Visa Inc")
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(coordinator)

    response = client.get("/duplicates/")

    assert [(a, b) for a, b, _score in response.context["organization_pairs"]] == [
        (visa, visa_inc)
    ]


def test_each_recent_record_lists_its_few_most_alike_names(client, coordinator):
    old = [factories.OrganizationFactory(name=f"Acme {n}") for n in range(duplicates.NEAREST + 3)]
    _age(*old)
    for name in _unlike_names(duplicates.RECENT - 1):
        factories.OrganizationFactory(name=name)
    new = factories.OrganizationFactory(name="Acme 1")
    client.force_login(coordinator)

    pairs = client.get("/duplicates/").context["organization_pairs"]

    # "Acme 1" first (the same name), then other Acmes, as alike as each other.
    assert len(pairs) == duplicates.NEAREST
    assert all(new in (a, b) for a, b, _score in pairs)
    assert pairs[0][2] == 100


@pytest.mark.parametrize("kind", ["organizations", "people"])
def test_the_duplicates_are_found_through_the_name_indexes(postgres_only, kind):
    """The SQL similar_to_recent() writes is the expression migration 0020 indexes."""
    index = {
        "organizations": "crm_organization_name_fold_gist",
        "people": "crm_person_name_fold_gist",
    }[kind]
    with CaptureQueriesContext(connection) as captured:
        duplicates._pairs(kind)
    sql = captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        # Forbidden to scan the table, the planner must find the index or fail.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_coordination_merges_from_the_page(client, pair, coordinator):
    client.force_login(coordinator)
    url = f"/duplicates/organizations/{pair['kept'].pk}/{pair['other'].pk}/"

    page = client.get(url)
    response = client.post(url, {"reason": "Typed twice"})

    assert page.status_code == 200 and "Visa Inc." in page.text
    assert response["Location"] == "/organizations/visa/"
    assert Merge.objects.get().reason == "Typed twice"


def test_two_records_chosen_by_hand_lead_to_the_merge_page(client, coordinator):
    placeholder = factories.OrganizationFactory(name="Incubators (not named)", is_identified=False)
    real = factories.OrganizationFactory(name="Y Combinator")
    client.force_login(coordinator)

    response = client.get("/duplicates/", {"kept": real.pk, "other": placeholder.pk})

    assert response["Location"] == f"/duplicates/organizations/{real.pk}/{placeholder.pk}/"


def test_an_unknown_kind_or_record_is_refused_cleanly(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/duplicates/planets/1/2/").status_code == 403
    assert client.get("/duplicates/organizations/999998/999999/").status_code == 404


def test_the_admin_lists_merges_read_only(client, pair, coordinator):
    services.organization_merge(kept=pair["kept"], other=pair["other"], by=coordinator)
    coordinator.is_superuser = True
    coordinator.save()
    client.force_login(coordinator)

    changelist = client.get("/admin/crm/merge/")
    merge = Merge.objects.get()

    assert changelist.status_code == 200 and "Visa Inc." in changelist.text
    assert client.get("/admin/crm/merge/add/").status_code == 403
    assert client.post(f"/admin/crm/merge/{merge.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Merge.objects.exists()


def test_the_merge_preview_says_what_moves_in_the_reader_s_words(client, pair, coordinator):
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    kept, other = pair["kept"], pair["other"]

    page = client.get(f"/duplicates/organizations/{kept.pk}/{other.pk}/").text

    # Two meetings and one role of Visa Inc. move: not "organisations met: 2".
    assert "Meetings: 2" in page
    assert "Roles: 1" in page
    assert "Organisations met" not in page


# A merged record's old address.


def test_a_merged_organisations_old_address_redirects_permanently_to_the_record_kept(
    client, pair, coordinator, reader
):
    services.organization_merge(kept=pair["kept"], other=pair["other"], by=coordinator)
    client.force_login(reader)

    response = client.get("/organizations/visa-inc/")

    assert response.status_code == 301
    assert response["Location"] == "/organizations/visa/"


def test_a_merged_persons_old_address_redirects_permanently_to_the_person_kept(
    client, coordinator, reader
):
    kept = factories.PersonFactory(slug="stephane-kpowbie")
    other = factories.PersonFactory(slug="stephane-kpowbie-2")
    services.person_merge(kept=kept, other=other, by=coordinator)
    client.force_login(reader)

    response = client.get("/people/stephane-kpowbie-2/")

    assert response.status_code == 301
    assert response["Location"] == "/people/stephane-kpowbie/"


def test_an_address_merged_twice_leads_to_the_last_record_kept(client, coordinator):
    first = factories.OrganizationFactory(slug="visa-usa")
    second = factories.OrganizationFactory(slug="visa-inc")
    last = factories.OrganizationFactory(slug="visa")
    services.organization_merge(kept=second, other=first, by=coordinator)
    services.organization_merge(kept=last, other=second, by=coordinator)
    client.force_login(coordinator)

    assert client.get("/organizations/visa-usa/")["Location"] == "/organizations/visa/"
    assert client.get("/organizations/visa-inc/")["Location"] == "/organizations/visa/"


def test_a_slug_taken_again_by_a_new_record_shows_the_new_record(client, pair, coordinator):
    services.organization_merge(kept=pair["kept"], other=pair["other"], by=coordinator)
    factories.OrganizationFactory(slug="visa-inc", name="Visa Incubator")
    client.force_login(coordinator)

    response = client.get("/organizations/visa-inc/")

    assert response.status_code == 200 and "Visa Incubator" in response.text


def test_a_merged_address_is_no_way_round_the_login_or_the_permission(client, pair, coordinator):
    services.organization_merge(kept=pair["kept"], other=pair["other"], by=coordinator)
    nobody = factories.UserFactory(username="no-role")

    anonymous = client.get("/organizations/visa-inc/")
    client.force_login(nobody)
    forbidden = client.get("/organizations/visa-inc/")

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert forbidden.status_code == 403


def test_an_unknown_address_is_still_not_found(client, pair, coordinator):
    services.organization_merge(kept=pair["kept"], other=pair["other"], by=coordinator)
    client.force_login(coordinator)

    assert client.get("/organizations/never-was/").status_code == 404
    assert client.get("/people/visa-inc/").status_code == 404


def test_an_address_whose_record_kept_is_gone_is_not_found(client, coordinator):
    kept = factories.OrganizationFactory(slug="visa")
    other = factories.OrganizationFactory(slug="visa-inc")
    services.organization_merge(kept=kept, other=other, by=coordinator)
    Organization.objects.filter(pk=kept.pk).delete()
    client.force_login(coordinator)

    assert client.get("/organizations/visa-inc/").status_code == 404


# The organisation's timeline.


def test_the_timeline_of_the_record_kept_shows_the_merge_who_and_when(client, pair, coordinator):
    coordinator.first_name, coordinator.last_name = "Afi", "Mensah"
    coordinator.save()
    services.organization_merge(
        kept=pair["kept"], other=pair["other"], by=coordinator, reason="Same company"
    )
    client.force_login(coordinator)

    response = client.get("/organizations/visa/")

    (merge,) = [entry for entry in response.context["timeline"] if entry.kind == "merge"]
    assert merge.item == Merge.objects.get()
    assert merge.day == TODAY
    timeline = " ".join(response.text[response.text.index('id="timeline"') :].split())
    assert "Merged: Visa Inc. → Visa" in timeline
    assert "Afi Mensah" in timeline and "Same company" in timeline


def test_the_timeline_shows_a_document_uploaded_to_the_organisation_with_its_link(
    client, pair, staff_user, reader
):
    document = services.document_create(
        by=staff_user,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="mou.pdf"),
        title="Draft MoU",
        organization=pair["kept"],
    )
    client.force_login(reader)

    response = client.get("/organizations/visa/")

    (upload,) = [entry for entry in response.context["timeline"] if entry.kind == "document"]
    assert upload.item == document
    timeline = response.text[response.text.index('id="timeline"') :]
    assert f'<a href="/documents/{document.pk}/download/">Draft MoU</a>' in timeline
    assert "staffer" in timeline
