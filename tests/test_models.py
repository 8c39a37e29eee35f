"""The database itself refuses rows that break the domain's invariants.

Each test saves a bad row straight through the ORM, bypassing forms, and expects
the database to raise: the rules hold for admin, pages, API, fixtures and imports.
"""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from crm.models import (
    FollowUp,
    InteractionPerson,
    InteractionProject,
    Partnership,
    Person,
    Project,
    StaffProfile,
)
from tests import factories

pytestmark = pytest.mark.django_db


def assert_refused(build, constraint: str) -> None:
    """Saving the object from ``build()`` fails at the database on ``constraint``."""
    obj = build()
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        obj.save()
    # PostgreSQL names the constraint; SQLite names it for CHECKs only.
    if "UNIQUE" not in str(excinfo.value):
        assert constraint in str(excinfo.value)


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (factories.SourceFactory, "kind"),
        (factories.SourceFactory, "language"),
        (factories.SourceFactory, "published_on_precision"),
        (factories.OrganizationFactory, "kind"),
        (factories.ProgrammeFactory, "status"),
        (factories.ProgrammeFactory, "eligible_since_precision"),
        (factories.ProjectFactory, "sector"),
        (factories.ProjectFactory, "status"),
        (factories.PersonFactory, "preferred_language"),
        (factories.MissionFactory, "date_precision"),
        (factories.InteractionFactory, "kind"),
        (factories.InteractionFactory, "date_precision"),
        (factories.PartnershipFactory, "role"),
        (factories.PartnershipFactory, "stage"),
        (factories.StageChangeFactory, "to_stage"),
        (factories.StageChangeFactory, "from_stage"),
        (factories.FollowUpFactory, "status"),
        (factories.FollowUpFactory, "priority"),
    ],
)
def test_choice_fields_refuse_values_outside_their_choices(factory, field):
    obj = factory()
    # Two letters: the language fields are two characters wide.
    setattr(obj, field, "zz")
    assert_refused(lambda: obj, f"crm_{obj._meta.model_name}_{field}_valid")


def test_organization_to_verify_needs_a_note():
    assert_refused(
        lambda: factories.OrganizationFactory.build(needs_verification=True, verification_note=""),
        "crm_organization_verification_has_note",
    )


def test_organization_to_verify_with_a_note_is_accepted():
    org = factories.OrganizationFactory(needs_verification=True, verification_note="As printed.")
    assert org.pk


def test_person_email_is_unique_whatever_the_case():
    factories.PersonFactory(email="Someone@Example.org")
    assert_refused(
        lambda: factories.PersonFactory.build(email="someone@example.org"),
        "crm_person_email_unique",
    )


def test_people_without_email_are_not_duplicates_of_each_other():
    factories.PersonFactory(email="")
    assert factories.PersonFactory(email="").pk


def test_affiliation_cannot_end_before_it_starts():
    affiliation = factories.AffiliationFactory()
    affiliation.start_on, affiliation.end_on = date(2024, 1, 2), date(2024, 1, 1)
    assert_refused(lambda: affiliation, "crm_affiliation_end_on_after_start_on")


def test_one_active_affiliation_per_person_organization_and_title():
    first = factories.AffiliationFactory(title="Director")
    assert_refused(
        lambda: factories.AffiliationFactory.build(
            person=first.person, organization=first.organization, title="Director"
        ),
        "crm_affiliation_one_active_per_role",
    )


def test_an_ended_affiliation_does_not_block_the_same_role_again():
    first = factories.AffiliationFactory(title="Director", end_on=date(2023, 1, 1))
    again = factories.AffiliationFactory(
        person=first.person, organization=first.organization, title="Director"
    )
    assert again.pk


def test_a_person_holds_several_roles_but_one_primary():
    first = factories.AffiliationFactory(is_primary=True)
    factories.AffiliationFactory(person=first.person, is_primary=False)
    assert_refused(
        lambda: factories.AffiliationFactory.build(
            person=first.person, is_primary=True, organization=factories.OrganizationFactory()
        ),
        "crm_affiliation_one_primary_per_person",
    )


def test_mission_cannot_end_before_it_starts():
    assert_refused(
        lambda: factories.MissionFactory.build(
            start_on=date(2023, 9, 30), end_on=date(2023, 9, 1)
        ),
        "crm_mission_end_on_after_start_on",
    )


def test_one_partnership_per_organization_and_project():
    first = factories.PartnershipFactory()
    assert_refused(
        lambda: factories.PartnershipFactory.build(
            organization=first.organization, project=first.project
        ),
        "crm_partnership_unique",
    )


def test_partnership_cadence_must_be_positive():
    partnership = factories.PartnershipFactory()
    partnership.contact_cadence_days = 0
    assert_refused(lambda: partnership, "crm_partnership_cadence_positive")


def test_stage_change_must_change_the_stage():
    change = factories.StageChangeFactory()
    change.from_stage = change.to_stage
    assert_refused(lambda: change, "crm_stagechange_is_a_change")


def test_follow_up_done_needs_completed_at():
    follow_up = factories.FollowUpFactory()
    follow_up.status, follow_up.completion_note = FollowUp.Status.DONE, "Sent."
    assert_refused(lambda: follow_up, "crm_followup_completed_at_iff_done")


def test_follow_up_not_done_cannot_have_completed_at():
    follow_up = factories.FollowUpFactory()
    follow_up.completed_at = timezone.now()
    assert_refused(lambda: follow_up, "crm_followup_completed_at_iff_done")


def test_follow_up_done_needs_a_note_on_what_was_done():
    follow_up = factories.FollowUpFactory()
    follow_up.status, follow_up.completed_at = FollowUp.Status.DONE, timezone.now()
    assert_refused(lambda: follow_up, "crm_followup_done_has_note")


def test_organization_met_in_an_interaction_cannot_be_deleted():
    org = factories.OrganizationFactory()
    factories.InteractionFactory(organizations=[org])
    with pytest.raises(ProtectedError):
        org.delete()


def test_organization_with_a_partnership_cannot_be_deleted():
    partnership = factories.PartnershipFactory()
    with pytest.raises(ProtectedError):
        partnership.organization.delete()


def test_partnership_with_stage_history_cannot_be_deleted():
    change = factories.StageChangeFactory()
    with pytest.raises(ProtectedError):
        change.partnership.delete()


def test_interaction_gets_a_unique_slug_from_its_title():
    first = factories.InteractionFactory(title="Rencontre à Washington")
    second = factories.InteractionFactory(title="Rencontre à Washington")
    assert first.slug.startswith("rencontre-a-washington-20230925-")
    assert first.slug != second.slug


def test_stages_are_in_pipeline_order():
    assert Partnership.Stage.values[:6] == [
        "identified",
        "contacted",
        "exploring",
        "proposal",
        "agreement",
        "active",
    ]


def test_staff_profile_is_created_on_first_use_in_french():
    user = factories.UserFactory()

    profile = StaffProfile.for_user(user)

    assert profile.language == "fr"
    assert StaffProfile.for_user(user) == profile


def test_staff_profile_language_is_within_choices():
    profile = StaffProfile.for_user(factories.UserFactory())
    profile.language = "zz"
    assert_refused(lambda: profile, "crm_staffprofile_language_valid")


# Who was met and what was discussed is never lost by deleting a person or project.


@pytest.fixture
def meeting():
    interaction = factories.InteractionFactory(organizations=[factories.OrganizationFactory()])
    person, project = factories.PersonFactory(), factories.ProjectFactory()
    interaction.people.add(person)
    interaction.projects.add(project)
    return interaction


def test_a_person_met_cannot_be_deleted(meeting):
    person = meeting.people.get()

    with pytest.raises(ProtectedError):
        person.delete()

    assert list(meeting.people.all()) == [person]


def test_a_project_discussed_cannot_be_deleted(meeting):
    project = meeting.projects.get()

    with pytest.raises(ProtectedError):
        project.delete()

    assert list(meeting.projects.all()) == [project]


def test_deleting_the_interaction_deletes_only_its_links(meeting):
    person, project = meeting.people.get(), meeting.projects.get()

    meeting.delete()

    assert not InteractionPerson.objects.exists()
    assert not InteractionProject.objects.exists()
    assert Person.objects.filter(pk=person.pk).exists()
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("crm_interaction_people", ["interaction_id", "person_id"]),
        ("crm_interaction_projects", ["interaction_id", "project_id"]),
    ],
)
def test_the_through_tables_keep_their_one_unique_pair(table, columns):
    # Migration 0008 changed no table: the explicit models sit on the tables and
    # the unique constraint that the plain many-to-many had made.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)

    unique = [c["columns"] for c in constraints.values() if c["unique"] and not c["primary_key"]]
    assert unique == [columns]


def test_the_api_refuses_to_delete_a_person_met(meeting, coordinator_api):
    person = meeting.people.get()

    response = coordinator_api.delete(f"/api/v1/people/{person.pk}/")

    assert response.status_code == 409
    assert list(meeting.people.all()) == [person]


def test_the_admin_says_a_person_met_cannot_be_deleted(meeting, client, coordinator):
    person = meeting.people.get()
    client.force_login(coordinator)
    url = reverse("admin:crm_person_delete", args=[person.pk])

    page = client.get(url)
    client.post(url, {"post": "yes"})

    assert [str(row) for row in page.context["protected"]] == [
        f"{InteractionPerson._meta.verbose_name.capitalize()}: {person}"
    ]
    assert list(meeting.people.all()) == [person]
