"""Personal data under Togo's law n° 2019-014: a person's data on request, and their erasure.

Issue 20: nothing could give a person everything held on them, and nothing
could erase one; even an edit left the old name, e-mail and phone in the
history tables, the export log's filters and meeting summaries.
"""

import json
import shutil
import subprocess
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from crm import roles, services
from crm.models import (
    Document,
    ExportLog,
    FollowUp,
    Interaction,
    MailMessage,
    Person,
    PersonRead,
    PrivacyRequest,
)
from crm.personal_data import access_package
from tests import factories

NAME = "Zéphyrine Quattlebaum"
OLD_NAME = "Zéphyrine Quattlebaum-Old"
EMAIL = "zephyrine.q@unique-example.org"
OLD_EMAIL = "zq.old@unique-example.org"
PHONE = "+228 90 11 22 33"
SECRETS = [NAME, "Quattlebaum", EMAIL, OLD_EMAIL, PHONE, "Quattlebaum-Old", "zephyrine-quattle"]


@pytest.fixture
def officer(db):
    roles.sync_role_permissions()
    user = factories.UserFactory(username="dpo")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    user.groups.add(Group.objects.get(name=roles.DATA_PROTECTION))
    return user


def _person_everywhere(staff_user) -> dict:
    """A person with a past, named in a meeting, a follow-up, an e-mail and the logs."""
    person = factories.PersonFactory(
        slug="zephyrine-quattlebaum",
        given_name="Zéphyrine",
        family_name="Quattlebaum-Old",
        email=OLD_EMAIL,
    )
    services.record_update(
        instance=person,
        changes={"family_name": "Quattlebaum", "email": EMAIL, "phone": PHONE},
        by=staff_user,
        version=None,
    )
    person.refresh_from_db()
    visa = factories.OrganizationFactory(name="Visa", slug="visa")
    project = factories.ProjectFactory(code="pay")
    factories.AffiliationFactory(person=person, organization=visa, title="Directrice")
    meeting = factories.InteractionFactory(
        title="Pilot with Visa",
        organizations=[visa],
        summary=f"{NAME} presented the pilot; write to {EMAIL}.",
    )
    meeting.people.add(person)
    follow_up = factories.FollowUpFactory(
        title=f"Send the note to {NAME}", project=project, organization=visa, person=person
    )
    commitment = factories.CommitmentFactory(
        partnership=factories.PartnershipFactory(organization=visa, project=project)
    )
    message = MailMessage.objects.create(
        fingerprint="zq-1",
        door=MailMessage.Door.UPLOAD,
        status=MailMessage.Status.FILED,
        interaction=meeting,
        from_name=NAME,
        from_address=EMAIL,
        to_addresses=[EMAIL, "unit@example.org"],
        subject="Pilot",
        body=f"Regards, {NAME} ({PHONE})",
        person=person,
        organization=visa,
    )
    message.raw.save("zq.eml", ContentFile(f"From: {NAME} <{EMAIL}>\n\nHello".encode()))
    ExportLog.objects.create(
        user=staff_user,
        username=staff_user.username,
        kind="csv",
        resource="people",
        filters={"q": [NAME], "person": ["zephyrine-quattlebaum"]},
    )
    LogEntry.objects.create(
        user=staff_user,
        content_type=ContentType.objects.get_for_model(Person),
        object_id=str(person.pk),
        object_repr=NAME,
        action_flag=CHANGE,
        change_message=f"Changed {EMAIL}",
    )
    return locals()


def test_only_the_data_protection_officer_answers_requests(client, coordinator, officer):
    person = factories.PersonFactory(slug="zq")
    client.force_login(coordinator)
    coordinator_page = client.get("/people/zq/").text

    assert client.get("/people/zq/personal-data/").status_code == 403
    assert client.post("/people/zq/erase/", {"reason": "x", "confirm": "on"}).status_code == 403
    assert "/people/zq/erase/" not in coordinator_page
    client.force_login(officer)
    assert "/people/zq/erase/" in client.get("/people/zq/").text
    assert client.get("/people/zq/personal-data/").status_code == 200
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_the_package_holds_every_record_that_names_the_person(db, staff_user):
    world = _person_everywhere(staff_user)
    person = world["person"]

    package = access_package(person)

    assert package["person"]["email"] == EMAIL
    assert len(package["history"]) == person.history.count() == 2
    assert [row["family_name"] for row in package["history"]] == ["Quattlebaum-Old", "Quattlebaum"]
    assert [row["organization"] for row in package["roles"]] == ["Visa"]
    assert [row["title"] for row in package["meetings"]] == list(
        Interaction.objects.filter(people=person).values_list("title", flat=True)
    )
    assert [row["title"] for row in package["follow_ups"]] == list(
        FollowUp.objects.filter(person=person).values_list("title", flat=True)
    )
    assert [row["body"] for row in package["emails"]] == [world["message"].body]
    json.dumps(package)


def test_the_officer_downloads_the_package_and_the_answer_is_logged(client, officer, staff_user):
    person = _person_everywhere(staff_user)["person"]
    client.force_login(officer)

    page = client.get("/people/zephyrine-quattlebaum/personal-data/")
    download = client.get("/people/zephyrine-quattlebaum/personal-data/?format=json")

    assert NAME in page.text and "Pilot with Visa" in page.text
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["person"]["email"] == EMAIL
    logged = PrivacyRequest.objects.filter(kind="access", person_id_number=person.pk)
    assert logged.count() == 2 and logged.first().made_by == officer
    assert not PrivacyRequest.objects.filter(reason__contains=NAME).exists()


def _database_text() -> str:
    """Every row of the test database, as text (pg_dump on PostgreSQL, iterdump on SQLite)."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        return subprocess.run(
            [
                shutil.which("pg_dump") or "pg_dump",
                "--data-only",
                "-h",
                settings["HOST"] or "127.0.0.1",
                "-p",
                str(settings["PORT"] or 5432),
                "-U",
                settings["USER"] or "postgres",
                settings["NAME"],
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return "\n".join(connection.connection.iterdump())


@pytest.fixture
def committed_staff(transactional_db):
    """A member of staff in a database whose rows are committed (pg_dump reads them).

    The role groups are made again: an earlier test of this kind emptied the tables.
    """
    for name in roles.ROLES:
        Group.objects.get_or_create(name=name)
    roles.sync_role_permissions()
    user = factories.UserFactory(username="committed-staff")
    user.groups.add(Group.objects.get(name=roles.STAFF))
    return user


@pytest.mark.django_db(transaction=True)
def test_after_an_erasure_no_table_history_log_or_file_holds_the_person(
    committed_staff, django_capture_on_commit_callbacks
):
    staff_user = committed_staff
    world = _person_everywhere(staff_user)
    person, message = world["person"], world["message"]
    raw = message.raw.name
    storage = message.raw.storage
    assert all(secret in _database_text() for secret in [NAME, EMAIL, OLD_EMAIL, PHONE])

    with django_capture_on_commit_callbacks(execute=True):
        erasure = services.person_erase(
            person=person, by=staff_user, reason=f"Request by {NAME}, 3 December"
        )

    dump = _database_text()
    assert [secret for secret in SECRETS if secret in dump] == []
    assert "zephyrine.q@unique-example.org".upper() not in dump.upper()
    assert not storage.exists(raw)
    person.refresh_from_db()
    assert str(person) == f"Personne effacée n° {person.pk}" == erasure.label
    assert person.erased_at is not None
    # The facts stay: the meeting with Visa, the follow-up, the commitment, the mail.
    assert Interaction.objects.filter(pk=world["meeting"].pk, people=person).exists()
    assert FollowUp.objects.filter(pk=world["follow_up"].pk, person=person).exists()
    assert world["commitment"].__class__.objects.filter(pk=world["commitment"].pk).exists()
    assert MailMessage.objects.get(pk=message.pk).subject == "Pilot"
    assert erasure.reason == f"Request by {erasure.label}, 3 December"


def test_an_erasure_needs_a_reason_and_happens_once(db, staff_user):
    person = factories.PersonFactory()

    with pytest.raises(ValidationError):
        services.person_erase(person=person, by=staff_user, reason="  ")
    services.person_erase(person=person, by=staff_user, reason="Asked on 3 December")
    with pytest.raises(ValidationError):
        services.person_erase(person=person, by=staff_user, reason="Again")

    assert PrivacyRequest.objects.filter(kind="erasure").count() == 1


def test_the_officer_erases_from_the_page_after_confirming(client, officer):
    person = factories.PersonFactory(slug="zq", given_name="Zéphyrine", family_name="Quattlebaum")
    client.force_login(officer)

    unconfirmed = client.post("/people/zq/erase/", {"reason": "Asked by e-mail"})
    confirmed = client.post("/people/zq/erase/", {"reason": "Asked by e-mail", "confirm": "on"})

    assert unconfirmed.status_code == 200
    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"/people/personne-effacee-{person.pk}/"
    assert Person.objects.get(pk=person.pk).family_name == f"n° {person.pk}"


def test_the_commands_give_and_erase_a_person(db, staff_user):
    world = _person_everywhere(staff_user)
    out = StringIO()

    call_command("person_data", "zephyrine-quattlebaum", stdout=out)
    package = json.loads(out.getvalue())
    call_command(
        "erase_person", "zephyrine-quattlebaum", reason="Asked on 3 December", stdout=StringIO()
    )

    assert package["person"]["email"] == EMAIL
    assert Person.objects.get(pk=world["person"].pk).email == ""
    assert PrivacyRequest.objects.filter(kind="access").count() == 1


def test_no_new_follow_up_names_a_person_who_objects(db, staff_user):
    person = factories.PersonFactory(objects_to_processing=True)

    with pytest.raises(ValidationError) as refused:
        services.follow_up_create(
            by=staff_user,
            title="Call them",
            project=factories.ProjectFactory(),
            person=person,
            assignee=staff_user,
            due_on="2026-12-10",
        )

    assert "person" in refused.value.message_dict
    assert not FollowUp.objects.exists()


def test_no_e_mail_is_filed_to_a_person_who_objects(db):
    from tests.mail_helpers import corpus, mail_world

    world = mail_world()
    Person.objects.filter(pk=world.jean.pk).update(objects_to_processing=True)

    message = services.mail_receive(raw=corpus("windows1252.eml"), door="mailbox").message

    assert message.status == MailMessage.Status.TO_FILE
    assert message.person is None
    with translation.override("en"):
        assert "objects to the processing" in message.reason_display


def test_an_erasure_is_replayed_after_restoring_an_older_backup(
    db, staff_user, settings, django_capture_on_commit_callbacks
):
    person = factories.PersonFactory(given_name="Zéphyrine", family_name="Quattlebaum")
    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(person=person, by=staff_user, reason="Asked on 3 December")
    # The backup was taken before: the person is back as they were.
    Person.objects.filter(pk=person.pk).update(
        given_name="Zéphyrine", family_name="Quattlebaum", slug="zq", erased_at=None
    )
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_erasures", stdout=out)

    person.refresh_from_db()
    assert person.erased_at is not None and person.family_name == f"n° {person.pk}"
    assert "1 replayed" in out.getvalue()
    with open(settings.CRM_ERASURE_LEDGER, encoding="utf-8") as file:
        ledger = file.read()
    assert "Quattlebaum" not in ledger and f'"person": {person.pk}' in ledger


def test_the_log_of_requests_is_the_officer_s_alone(client, coordinator, officer):
    PrivacyRequest.objects.create(kind="erasure", person_id_number=17, label="Personne effacée")
    for user in (coordinator, officer):
        user.is_staff = True
        user.save()

    client.force_login(coordinator)
    refused = client.get("/admin/crm/privacyrequest/")
    client.force_login(officer)
    shown = client.get("/admin/crm/privacyrequest/")

    assert refused.status_code == 403
    assert shown.status_code == 200 and "Personne effacée" in shown.text


def test_opening_a_person_s_page_and_exporting_people_are_logged_for_the_officer(
    client, staff_user, api_client
):
    person = factories.PersonFactory(slug="zq")
    client.force_login(staff_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    client.get("/people/zq/")
    client.get("/people/?q=zq&export=csv")
    api_client.force_authenticate(staff_user)
    api_client.get("/api/v1/people/?format=csv")
    client.get("/organizations/?export=csv")  # No one named: not a read of people.

    reads = list(PersonRead.objects.order_by("id").values_list("what", "person_id_number"))
    assert reads == [("page", person.pk), ("export", None), ("export", None)]
    assert PersonRead.objects.filter(reader=staff_user).count() == 3
    assert PersonRead.objects.filter(what="export").order_by("id").first().filters["q"] == ["zq"]


def test_the_access_log_expires_by_itself(db, settings):
    settings.CRM_ACCESS_LOG_RETENTION_DAYS = 30
    old = PersonRead.objects.create(what="page", person_id_number=1)
    PersonRead.objects.filter(pk=old.pk).update(read_at=timezone.now() - timedelta(days=31))
    recent = PersonRead.objects.create(what="page", person_id_number=2)

    call_command("purge_access_log", stdout=StringIO())

    assert list(PersonRead.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_officer_chooses_which_of_the_person_s_documents_go_with_them(
    client, officer, django_capture_on_commit_callbacks
):
    """Point 5: their own documents, chosen on the confirmation page, are deleted from storage."""
    person = factories.PersonFactory(slug="zq", given_name="Zéphyrine", family_name="Quattlebaum")
    visa = factories.OrganizationFactory(name="Visa", slug="visa")
    message = MailMessage.objects.create(
        fingerprint="zq-cv",
        door=MailMessage.Door.UPLOAD,
        status=MailMessage.Status.FILED,
        interaction=factories.InteractionFactory(title="Pilot with Visa"),
        from_address=EMAIL,
        subject="My CV and the pilot's brochure",
        person=person,
        organization=visa,
    )

    def keep(title: str, **more):
        pdf = ContentFile(b"%PDF-1.4\n%%EOF\n", name=f"{title}.pdf")
        return services.document_create(
            by=officer, file=pdf, title=title, organization=visa, **more
        )

    cv = keep("CV, first version")
    cv_now = keep("CV", previous_version=cv)
    brochure = keep("Brochure")
    message.documents.add(cv, cv_now, brochure)
    elsewhere = keep("Agreement draft")  # Not attached to their e-mails: not offered.
    storage = cv.file.storage
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/people/zq/erase/")
    offered = list(page.context["form"].fields["documents"].queryset)
    assert offered == [brochure, cv_now]  # The latest versions only, newest first.
    assert "Their documents to delete too" in page.content.decode()

    refused = client.post(
        "/people/zq/erase/",
        {"reason": "Asked by e-mail", "confirm": "on", "documents": [elsewhere.pk]},
    )
    assert refused.status_code == 200
    assert Person.objects.get(pk=person.pk).erased_at is None

    with django_capture_on_commit_callbacks(execute=True):
        erased = client.post(
            "/people/zq/erase/",
            {"reason": "Asked by e-mail", "confirm": "on", "documents": [cv_now.pk]},
        )
    assert erased.status_code == 302
    # The CV goes with its earlier version, their history and their files.
    assert set(Document.objects.values_list("title", flat=True)) == {"Brochure", "Agreement draft"}
    assert not Document.history.filter(id__in=[cv.pk, cv_now.pk]).exists()
    assert not storage.exists(cv.file.name)
    assert not storage.exists(cv_now.file.name)
    assert storage.exists(brochure.file.name)
    assert list(message.documents.all()) == [brochure]


def test_a_document_that_is_not_the_person_s_own_is_refused_by_the_service(db, officer):
    person = factories.PersonFactory()
    other = services.document_create(
        by=officer,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="a.pdf"),
        title="Communiqué",
        organization=factories.OrganizationFactory(),
    )
    with pytest.raises(ValidationError) as refused:
        services.person_erase(person=person, by=officer, reason="Asked", documents=[other])
    assert "documents" in refused.value.message_dict
    assert Document.objects.filter(pk=other.pk).exists()
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_export_files_written_before_an_erasure_are_deleted_with_it(
    db, staff_user, django_capture_on_commit_callbacks
):
    """A file exported by a job may list the person: it goes; one being written stays."""
    from crm.models import ExportJob
    from crm.storage import document_storage

    person = factories.PersonFactory(given_name="Zéphyrine", family_name="Quattlebaum")

    def job(status: str, name: str) -> ExportJob:
        file = document_storage.save(f"exports/{name}", ContentFile(f"{NAME}\n".encode()))
        return ExportJob.objects.create(
            requested_by=staff_user,
            status=status,
            kind="csv",
            resource="people",
            permission="crm.view_person",
            filename=name,
            total=1,
            file=file if status == "done" else "",
        )

    written = job("done", "people.csv")
    running = job("running", "people-2.csv")

    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(person=person, by=staff_user, reason="Asked by e-mail")

    assert not ExportJob.objects.filter(pk=written.pk).exists()
    assert not document_storage.exists(written.file)
    assert ExportJob.objects.filter(pk=running.pk).exists()
