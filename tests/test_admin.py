"""The Django admin: every model reachable, permissions by role, bulk actions."""

import itertools
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import (
    Affiliation,
    Agreement,
    AgreementSignatory,
    ApiToken,
    Commitment,
    DigestLog,
    Document,
    ExchangeRate,
    ExportJob,
    ExportLog,
    FollowUp,
    FollowUpPlan,
    FollowUpPlanStep,
    ImportJob,
    Interaction,
    InteractionOrganization,
    InteractionPerson,
    InteractionProject,
    LastInteraction,
    MailMessage,
    Merge,
    Mission,
    MissionMember,
    OpenFollowUpCount,
    Organization,
    Partnership,
    PendingImport,
    Person,
    PersonRead,
    PrivacyRequest,
    Programme,
    Project,
    ScheduledRun,
    Source,
    StaffProfile,
    StageChange,
)
from tests.conftest import TODAY
from tests.factories import (
    AffiliationFactory,
    AgreementFactory,
    CommitmentFactory,
    ExchangeRateFactory,
    FollowUpFactory,
    InteractionFactory,
    MissionFactory,
    OrganizationFactory,
    PartnershipFactory,
    PersonFactory,
    ProgrammeFactory,
    ProjectFactory,
    SourceFactory,
    StageChangeFactory,
    UserFactory,
)

_serial = itertools.count()


@pytest.fixture
def english(settings):
    """Speak English, so that message assertions hold once French is translated."""
    settings.LANGUAGE_CODE = "en"


def make_programme():
    return ProgrammeFactory(slug=f"programme-{next(_serial)}", name=f"Compact {next(_serial)}")


def make_project():
    return ProjectFactory(lead=UserFactory())


def make_mission():
    mission = MissionFactory(organizer=OrganizationFactory())
    MissionMember.objects.create(mission=mission, person=PersonFactory(), role="Head")
    return mission


def make_interaction():
    return InteractionFactory(
        mission=MissionFactory(),
        organizations=[OrganizationFactory(), OrganizationFactory()],
    )


def make_partnership():
    return PartnershipFactory(owner=UserFactory())


def make_stage_change():
    return StageChangeFactory(changed_by=UserFactory())


def make_staff_profile():
    return StaffProfile.objects.create(user=UserFactory(), language="en")


PLAN_NUMBERS = itertools.count()


def make_follow_up_plan():
    number = next(PLAN_NUMBERS)
    plan = FollowUpPlan.objects.create(slug=f"plan-{number}", name=f"Plan {number}")
    FollowUpPlanStep.objects.create(plan=plan, offset_days=2, title="Thank-you note")
    return plan


def make_digest_log():
    return DigestLog.objects.create(
        user=UserFactory(),
        digest_on=TODAY,
        status=DigestLog.Status.SENT,
        overdue=2,
        claimed_at=timezone.now(),
        sent_at=timezone.now(),
    )


def make_follow_up():
    return FollowUpFactory(
        organization=OrganizationFactory(), person=PersonFactory(), assignee=UserFactory()
    )


def make_commitment():
    return CommitmentFactory(partnership=PartnershipFactory(), source=SourceFactory())


def make_agreement():
    agreement = AgreementFactory(owner=UserFactory())
    agreement.parties.create(organization=OrganizationFactory())
    return agreement


def make_agreement_signatory():
    party = AgreementFactory().parties.create(organization=OrganizationFactory())
    return party.signatories.create(
        affiliation=AffiliationFactory(organization=party.organization)
    )


def make_document():
    return services.document_create(
        by=UserFactory(),
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="a.pdf"),
        title=f"Document {next(_serial)}",
        organization=OrganizationFactory(),
    )


def make_mail_message():
    number = next(_serial)
    return MailMessage.objects.create(
        fingerprint=f"mid:{number}",
        from_name="Jean Test",
        from_address=f"jean.{number}@mastercard.com",
        subject=f"Concept note {number}",
        body="Dear all, the concept note is attached.",
        door=MailMessage.Door.UPLOAD,
        status=MailMessage.Status.FILED,
        interaction=InteractionFactory(),
        organization=OrganizationFactory(),
        person=PersonFactory(),
        filed_by=UserFactory(),
    )


def make_exchange_rate():
    return ExchangeRateFactory(rate_on=date(2025, 1, 1) + timedelta(days=next(_serial)))


# One maker per registered model; each row brings its own related objects, so
# that a query per row would show in the query counts.
MAKERS = {
    Source: SourceFactory,
    Organization: OrganizationFactory,
    Programme: make_programme,
    Project: make_project,
    Person: PersonFactory,
    Affiliation: AffiliationFactory,
    Mission: make_mission,
    Interaction: make_interaction,
    Partnership: make_partnership,
    StageChange: make_stage_change,
    FollowUp: make_follow_up,
    StaffProfile: make_staff_profile,
    FollowUpPlan: make_follow_up_plan,
    DigestLog: make_digest_log,
    Commitment: make_commitment,
    Agreement: make_agreement,
    AgreementSignatory: make_agreement_signatory,
    Document: make_document,
    ExchangeRate: make_exchange_rate,
    MailMessage: make_mail_message,
}
# Logs written by the system: shown, never edited.
READ_ONLY_MODELS = {StageChange, DigestLog, MailMessage}
EDITABLE = [model for model in MAKERS if model not in READ_ONLY_MODELS]
# Made on first use (StaffProfile.for_user), never added by hand.
ADDABLE = [model for model in EDITABLE if model is not StaffProfile]
# Shown through inlines of their parent (Mission, Interaction) only.
INLINE_ONLY = {MissionMember, InteractionOrganization, InteractionPerson, InteractionProject}


def by_name(model) -> str:
    return model.__name__


def url(model, view: str, *args) -> str:
    return reverse(f"admin:crm_{model._meta.model_name}_{view}", args=args)


def shown_as(obj) -> str:
    """Return the text the changelist shows for ``obj``."""
    if isinstance(obj, Affiliation):
        return str(obj.person)
    if isinstance(obj, Partnership):
        return str(obj.organization)
    if isinstance(obj, StageChange):
        return str(obj.partnership)
    if isinstance(obj, DigestLog):
        return str(obj.user)
    return str(obj)


def form_data(response) -> dict:
    """Return the POST data that submits an admin change form unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            else:
                data[key] = str(value)
    return data


def post_action(client, model, action: str, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], **extra}
    return client.post(url(model, "changelist"), data)


def test_every_crm_model_is_in_the_admin():
    inline_models = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }
    for model in apps.get_app_config("crm").get_models():
        # Uploads waiting for confirmation: nothing to edit, gone within the hour.
        # The tables the database keeps from other rows: nothing to edit either.
        if model.__name__.startswith("Historical") or model in (
            PendingImport,
            LastInteraction,
            OpenFollowUpCount,
        ):
            continue
        assert admin.site.is_registered(model) or model in inline_models, model
    # API tokens, the export log, the export jobs and the schedule's claims have
    # their own admin tests (tests/test_api_tokens.py, tests/test_export_log.py,
    # tests/test_access_matrix.py): only Coordination sees them. Merges are a
    # read-only record (tests/test_merge.py). The data-protection officer's log is
    # theirs alone (tests/test_personal_data.py).
    assert {model for model in MAKERS} | {
        ApiToken,
        ExportJob,
        ExportLog,
        ImportJob,
        ScheduledRun,
        Merge,
        PrivacyRequest,
        PersonRead,
    } == {model for model in admin.site._registry if model._meta.app_label == "crm"}
    assert inline_models >= INLINE_ONLY


# Coordination sees and edits everything.


@pytest.mark.parametrize("model", MAKERS, ids=by_name)
def test_coordinator_sees_every_row_in_each_changelist(client, coordinator, model):
    objects = [MAKERS[model]() for _ in range(2)]
    client.force_login(coordinator)

    response = client.get(url(model, "changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(objects)
    for obj in objects:
        assert shown_as(obj) in response.text


@pytest.mark.parametrize("model", MAKERS, ids=by_name)
def test_coordinator_opens_the_change_page_of_each_model(client, coordinator, model):
    obj = MAKERS[model]()
    client.force_login(coordinator)

    response = client.get(url(model, "change", obj.pk))

    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("model", ADDABLE, ids=by_name)
def test_coordinator_opens_the_add_page_of_each_model(client, coordinator, model):
    client.force_login(coordinator)

    response = client.get(url(model, "add"))

    assert response.status_code == 200


def test_nobody_adds_changes_or_deletes_stage_changes_in_the_admin(client, coordinator):
    change = make_stage_change()
    client.force_login(coordinator)

    assert client.get(url(StageChange, "add")).status_code == 403
    assert client.post(url(StageChange, "change", change.pk), {"note": "x"}).status_code == 403
    assert client.get(url(StageChange, "delete", change.pk)).status_code == 403
    change.refresh_from_db()
    assert change.note == ""


def test_nobody_adds_changes_or_deletes_digest_logs_in_the_admin(client, coordinator):
    log = make_digest_log()
    client.force_login(coordinator)

    assert client.get(url(DigestLog, "add")).status_code == 403
    assert client.post(url(DigestLog, "change", log.pk), {"attempts": "9"}).status_code == 403
    assert client.get(url(DigestLog, "delete", log.pk)).status_code == 403
    log.refresh_from_db()
    assert log.attempts == 1


def test_digest_log_changelist_filters_failures_and_finds_a_user(client, coordinator):
    sent = make_digest_log()
    failed = DigestLog.objects.create(
        user=UserFactory(username="amavi"),
        digest_on=TODAY,
        status=DigestLog.Status.FAILED,
        claimed_at=timezone.now(),
        error="SMTPServerDisconnected",
    )
    client.force_login(coordinator)

    by_status = client.get(url(DigestLog, "changelist"), {"status__exact": "failed"})
    by_user = client.get(url(DigestLog, "changelist"), {"q": "amavi"})

    assert list(by_status.context["cl"].result_list) == [failed]
    assert list(by_user.context["cl"].result_list) == [failed]
    assert sent not in by_status.context["cl"].result_list


# Read-only and Staff roles.


@pytest.mark.parametrize("model", MAKERS, ids=by_name)
def test_reader_views_changelist_and_change_page(client, reader, model):
    obj = MAKERS[model]()
    client.force_login(reader)

    assert client.get(url(model, "changelist")).status_code == 200
    assert client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", MAKERS, ids=by_name)
def test_reader_cannot_add_or_change(client, reader, model):
    obj = MAKERS[model]()
    client.force_login(reader)

    assert client.get(url(model, "add")).status_code == 403
    assert client.post(url(model, "change", obj.pk), {}).status_code == 403


def test_reader_sees_no_bulk_actions(client, reader):
    follow_up = FollowUpFactory()
    client.force_login(reader)

    page = client.get(url(FollowUp, "changelist"))
    response = post_action(
        client, FollowUp, "mark_done", [follow_up], post="yes", completion_note="Done"
    )

    assert page.context["action_form"] is None
    assert response.status_code == 200
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN


def test_staff_sees_the_follow_up_actions_but_not_delete(client, staff_user):
    client.force_login(staff_user)

    response = client.get(url(FollowUp, "changelist"))

    actions = {name for name, _label in response.context["action_form"].fields["action"].choices}
    assert actions == {"", "mark_done", "reassign", "snooze", "mark_waiting", "cancel", "reopen"}


def test_staff_cannot_delete_an_organization(client, staff_user):
    organization = OrganizationFactory()
    client.force_login(staff_user)

    assert client.get(url(Organization, "delete", organization.pk)).status_code == 403
    assert (
        client.post(url(Organization, "delete", organization.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Organization.objects.filter(pk=organization.pk).exists()


def test_staff_edits_a_follow_up(client, staff_user):
    follow_up = FollowUpFactory()
    client.force_login(staff_user)
    data = form_data(client.get(url(FollowUp, "change", follow_up.pk)))

    response = client.post(url(FollowUp, "change", follow_up.pk), {**data, "title": "Call back"})

    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.title == "Call back"


# Deletion of records with history is refused, politely.


@pytest.mark.parametrize(
    ("model", "make_protected"),
    [
        (Organization, lambda: PartnershipFactory().organization),
        (Person, lambda: AffiliationFactory().person),
        (Partnership, lambda: StageChangeFactory().partnership),
    ],
    ids=["Organization", "Person", "Partnership"],
)
def test_deleting_a_record_with_history_shows_the_protected_objects(
    client, coordinator, model, make_protected
):
    obj = make_protected()
    client.force_login(coordinator)

    page = client.get(url(model, "delete", obj.pk))
    confirmed = client.post(url(model, "delete", obj.pk), {"post": "yes"})
    bulk = post_action(client, model, "delete_selected", [obj], post="yes")

    for response in (page, confirmed, bulk):
        assert response.status_code == 200
        assert response.context["protected"]
    assert model.objects.filter(pk=obj.pk).exists()


def test_coordinator_deletes_an_organization_without_history(client, coordinator):
    organization = OrganizationFactory()
    client.force_login(coordinator)

    response = client.post(url(Organization, "delete", organization.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Organization.objects.filter(pk=organization.pk).exists()


# Changelists do not run a query per row.


@pytest.mark.parametrize("model", MAKERS, ids=by_name)
def test_changelist_query_count_does_not_grow_with_rows(client, coordinator, model):
    client.force_login(coordinator)
    changelist = url(model, "changelist")
    for _ in range(5):
        MAKERS[model]()
    client.get(changelist)  # Warm the caches (content types, sessions).

    with CaptureQueriesContext(connection) as five:
        assert client.get(changelist).status_code == 200
    for _ in range(45):
        MAKERS[model]()
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(changelist)

    assert len(response.context["cl"].result_list) == 50
    assert len(fifty) == len(five), [query["sql"] for query in fifty.captured_queries]


def _add_rows(parent):
    """Add one row to each inline of ``parent``'s change page."""
    if isinstance(parent, Organization):
        AffiliationFactory(organization=parent)
        PartnershipFactory(organization=parent, owner=UserFactory())
    elif isinstance(parent, Person):
        AffiliationFactory(person=parent)
    elif isinstance(parent, Project):
        PartnershipFactory(project=parent, owner=UserFactory())
    elif isinstance(parent, Interaction):
        InteractionOrganization.objects.create(
            interaction=parent, organization=OrganizationFactory()
        )
        FollowUpFactory(
            interaction=parent, organization=OrganizationFactory(), assignee=UserFactory()
        )
    elif isinstance(parent, Mission):
        MissionMember.objects.create(mission=parent, person=PersonFactory())
    elif isinstance(parent, Partnership):
        stages = list(Partnership.Stage)
        StageChangeFactory(
            partnership=parent,
            from_stage=stages[len(stages) - 1],
            to_stage=stages[0],
            changed_by=UserFactory(),
        )


@pytest.mark.parametrize(
    "make_parent",
    [
        OrganizationFactory,
        PersonFactory,
        ProjectFactory,
        InteractionFactory,
        MissionFactory,
        PartnershipFactory,
    ],
    ids=["Organization", "Person", "Project", "Interaction", "Mission", "Partnership"],
)
def test_change_page_query_count_does_not_grow_with_inline_rows(client, coordinator, make_parent):
    parent = make_parent()
    client.force_login(coordinator)
    change_page = url(type(parent), "change", parent.pk)
    for _ in range(2):
        _add_rows(parent)
    client.get(change_page)

    with CaptureQueriesContext(connection) as few:
        assert client.get(change_page).status_code == 200
    for _ in range(8):
        _add_rows(parent)
    with CaptureQueriesContext(connection) as many:
        assert client.get(change_page).status_code == 200

    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


# Follow-ups: overdue dates, the deadline filter, the change form.


def test_overdue_due_date_is_red_for_an_open_follow_up(client, coordinator):
    FollowUpFactory(title="Send the concept note", due_on=date(2000, 1, 3))
    client.force_login(coordinator)

    response = client.get(url(FollowUp, "changelist"))

    assert response.text.count('class="crm-overdue"') == 1
    # Red and bold from the admin's stylesheet: the CSP forbids inline styles.
    assert "crm/admin.css" in response.text
    stylesheet = Path(finders.find("crm/admin.css")).read_text()
    assert ".crm-overdue { color: #ba2121; font-weight: bold; }" in stylesheet


@pytest.mark.parametrize(
    "fields",
    [
        {"due_on": date(2000, 1, 3), "status": FollowUp.Status.DONE},
        {"due_on": date(2000, 1, 3), "status": FollowUp.Status.CANCELLED},
        {"due_on": date(2999, 1, 3), "status": FollowUp.Status.OPEN},
    ],
    ids=["done", "cancelled", "future"],
)
def test_due_date_is_not_red_when_not_overdue(client, coordinator, fields):
    if fields["status"] == FollowUp.Status.DONE:
        fields = {**fields, "completed_at": timezone.now(), "completion_note": "Sent"}
    FollowUpFactory(**fields)
    client.force_login(coordinator)

    response = client.get(url(FollowUp, "changelist"))

    assert response.status_code == 200
    assert "crm-overdue" not in response.text


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        ("overdue", {"late"}),
        ("today", {"today"}),
        ("week", {"in a week"}),
        ("later", {"later"}),
        ("", None),
    ],
    ids=["overdue", "today", "week", "later", "all"],
)
def test_deadline_filter_uses_the_follow_up_queryset(
    client, coordinator, pages_today, deadline, expected
):
    FollowUpFactory(title="late", due_on=date(2026, 1, 14))
    FollowUpFactory(title="today", due_on=TODAY)
    FollowUpFactory(title="in a week", due_on=date(2026, 1, 22))
    FollowUpFactory(title="later", due_on=date(2026, 1, 23))
    FollowUpFactory(
        title="done late",
        due_on=date(2026, 1, 1),
        status=FollowUp.Status.DONE,
        completed_at=timezone.now(),
        completion_note="Sent",
    )
    client.force_login(coordinator)

    response = client.get(url(FollowUp, "changelist"), {"deadline": deadline} if deadline else {})

    titles = {follow_up.title for follow_up in response.context["cl"].result_list}
    assert titles == (expected or {"late", "today", "in a week", "later", "done late"})


def add_follow_up_data(client, project, **changes) -> dict:
    data = form_data(client.get(url(FollowUp, "add")))
    return {**data, "title": "Met them", "project": project.pk, "due_on": "2026-01-15", **changes}


def test_adding_a_follow_up_as_done_needs_a_completion_note(client, coordinator):
    client.force_login(coordinator)

    response = client.post(
        url(FollowUp, "add"),
        add_follow_up_data(
            client, ProjectFactory(), status=FollowUp.Status.DONE, completion_note="  "
        ),
    )

    assert response.status_code == 200
    assert "completion_note" in response.context["adminform"].form.errors
    assert not FollowUp.objects.exists()


def test_adding_a_follow_up_already_done_goes_through_the_service(client, coordinator):
    project = ProjectFactory()
    client.force_login(coordinator)
    data = add_follow_up_data(
        client, project, status=FollowUp.Status.DONE, completion_note="Met at the fair"
    )

    with (
        mock.patch(
            "crm.admin.follow_ups.services.follow_up_create", wraps=services.follow_up_create
        ) as create,
        mock.patch(
            "crm.admin.follow_ups.services.follow_up_complete", wraps=services.follow_up_complete
        ) as complete,
    ):
        response = client.post(url(FollowUp, "add"), data)

    assert response.status_code == 302
    assert (create.call_count, complete.call_count) == (1, 1)
    follow_up = FollowUp.objects.get(title="Met them")
    assert (follow_up.status, follow_up.completed_by, follow_up.created_by) == (
        FollowUp.Status.DONE,
        coordinator,
        coordinator,
    )
    assert follow_up.completed_at is not None
    assert follow_up.completion_note == "Met at the fair"


def test_follow_up_state_is_read_only_on_the_change_form(client, coordinator, staff_user):
    follow_up = FollowUpFactory(title="Call Visa", due_on=date(2026, 2, 1))
    client.force_login(coordinator)
    page = client.get(url(FollowUp, "change", follow_up.pk))
    form = page.context["adminform"].form
    assert not {"status", "assignee", "due_on", "completion_note"} & set(form.fields)

    response = client.post(
        url(FollowUp, "change", follow_up.pk),
        {
            **form_data(page),
            "title": "Call Visa back",
            "status": FollowUp.Status.DONE,
            "assignee": staff_user.pk,
            "due_on": "2030-01-01",
            "completion_note": "Sneaked in",
        },
    )

    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.status, follow_up.assignee, follow_up.due_on) == (
        "Call Visa back",
        FollowUp.Status.OPEN,
        None,
        date(2026, 2, 1),
    )
    assert follow_up.completion_note == ""


def test_follow_up_form_refuses_a_read_only_assignee(client, coordinator, reader, staff_user):
    project = ProjectFactory()
    client.force_login(coordinator)

    refused = client.post(
        url(FollowUp, "add"), add_follow_up_data(client, project, assignee=reader.pk)
    )
    accepted = client.post(
        url(FollowUp, "add"), add_follow_up_data(client, project, assignee=staff_user.pk)
    )

    assert refused.status_code == 200
    assert "assignee" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    assert FollowUp.objects.get().assignee == staff_user


def test_partnership_owner_refuses_a_read_only_user(client, coordinator, reader):
    partnership = PartnershipFactory()
    client.force_login(coordinator)

    response = post_action(
        client, Partnership, "assign_owner", [partnership], post="yes", owner=reader.pk
    )

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    partnership.refresh_from_db()
    assert partnership.owner is None


@pytest.mark.parametrize("lead", ["reader", "role_less"])
def test_project_form_refuses_a_lead_who_is_not_staff(client, coordinator, reader, lead):
    project = ProjectFactory()
    refused = reader if lead == "reader" else UserFactory(username="outsider")
    client.force_login(coordinator)
    data = form_data(client.get(url(Project, "change", project.pk)))

    response = client.post(url(Project, "change", project.pk), {**data, "lead": refused.pk})

    assert response.status_code == 200
    assert "lead" in response.context["adminform"].form.errors
    project.refresh_from_db()
    assert project.lead is None


def test_project_form_accepts_a_staff_member_as_lead(client, coordinator, staff_user):
    project = ProjectFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Project, "change", project.pk)))

    response = client.post(url(Project, "change", project.pk), {**data, "lead": staff_user.pk})

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.lead == staff_user


def test_adding_a_follow_up_records_its_creator(client, staff_user):
    project = ProjectFactory()
    client.force_login(staff_user)
    data = form_data(client.get(url(FollowUp, "add")))

    response = client.post(
        url(FollowUp, "add"),
        {**data, "title": "Send the brief", "project": project.pk, "due_on": "2026-02-01"},
    )

    assert response.status_code == 302
    follow_up = FollowUp.objects.get(title="Send the brief")
    assert follow_up.created_by == staff_user
    assert follow_up.status == FollowUp.Status.OPEN


def test_adding_an_interaction_records_its_creator_and_organisations(client, coordinator):
    organization = OrganizationFactory()
    project = ProjectFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Interaction, "add")))

    response = client.post(
        url(Interaction, "add"),
        {
            **data,
            "title": "Session with card networks",
            "kind": Interaction.Kind.MEETING,
            "occurred_on": "2023-09-26",
            "interactionorganization_set-0-organization": organization.pk,
            "follow_ups-TOTAL_FORMS": "1",
            "follow_ups-0-title": "Send the project brief",
            "follow_ups-0-project": project.pk,
            "follow_ups-0-due_on": "2023-10-15",
            "follow_ups-0-priority": FollowUp.Priority.HIGH,
        },
    )

    assert response.status_code == 302
    interaction = Interaction.objects.get(title="Session with card networks")
    assert interaction.created_by == coordinator
    assert list(interaction.organizations.all()) == [organization]
    follow_up = interaction.follow_ups.get()
    assert (follow_up.created_by, follow_up.status) == (coordinator, FollowUp.Status.OPEN)


def test_an_interaction_needs_an_organisation(client, coordinator):
    client.force_login(coordinator)
    data = form_data(client.get(url(Interaction, "add")))

    response = client.post(
        url(Interaction, "add"),
        {**data, "title": "Alone", "kind": Interaction.Kind.CALL, "occurred_on": "2023-09-26"},
    )

    assert response.status_code == 200
    assert not Interaction.objects.exists()


def test_adding_an_interaction_goes_through_the_service(client, coordinator):
    organization = OrganizationFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Interaction, "add")))

    with mock.patch(
        "crm.admin.missions.services.interaction_create", wraps=services.interaction_create
    ) as create:
        response = client.post(
            url(Interaction, "add"),
            {
                **data,
                "title": "Call with the bank",
                "kind": Interaction.Kind.CALL,
                "occurred_on": "2023-09-26",
                "staff": [coordinator.pk],
                "interactionorganization_set-0-organization": organization.pk,
            },
        )

    assert response.status_code == 302
    assert create.call_count == 1
    interaction = Interaction.objects.get()
    # The admin saves the many-to-many and the inlines on what the service made.
    assert list(interaction.staff.all()) == [coordinator]
    assert list(interaction.organizations.all()) == [organization]
    assert (interaction.created_by, interaction.history.get().history_user) == (
        coordinator,
        coordinator,
    )


# Organisations and affiliations: constraints become form errors.


def test_organization_to_verify_needs_a_note(client, coordinator):
    organization = OrganizationFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Organization, "change", organization.pk)))

    response = client.post(
        url(Organization, "change", organization.pk), {**data, "needs_verification": "on"}
    )

    assert response.status_code == 200
    assert "verification_note" in response.context["adminform"].form.errors
    organization.refresh_from_db()
    assert not organization.needs_verification


def test_two_new_primary_affiliations_in_one_submission_are_refused(client, coordinator):
    person = PersonFactory()
    first, second = OrganizationFactory(), OrganizationFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Person, "change", person.pk)))

    response = client.post(
        url(Person, "change", person.pk),
        {
            **data,
            "affiliations-TOTAL_FORMS": "2",
            "affiliations-0-organization": first.pk,
            "affiliations-0-title": "Director",
            "affiliations-0-is_primary": "on",
            "affiliations-1-organization": second.pk,
            "affiliations-1-title": "Adviser",
            "affiliations-1-is_primary": "on",
        },
    )

    assert response.status_code == 200
    assert not Affiliation.objects.exists()


def test_affiliation_cannot_end_before_it_starts(client, coordinator):
    affiliation = AffiliationFactory(start_on=date(2023, 1, 1))
    client.force_login(coordinator)
    data = form_data(client.get(url(Affiliation, "change", affiliation.pk)))

    response = client.post(
        url(Affiliation, "change", affiliation.pk), {**data, "end_on": "2022-12-31"}
    )

    assert response.status_code == 200
    assert "end_on" in response.context["adminform"].form.errors


# Partnerships: the stage moves only through the action.


def test_partnership_stage_is_read_only_on_the_change_form(client, coordinator):
    partnership = PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    client.force_login(coordinator)
    data = form_data(client.get(url(Partnership, "change", partnership.pk)))

    response = client.post(
        url(Partnership, "change", partnership.pk),
        {**data, "stage": Partnership.Stage.ACTIVE, "notes": "Warm"},
    )

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert (partnership.stage, partnership.notes) == (Partnership.Stage.CONTACTED, "Warm")
    assert not partnership.stage_changes.exists()


def test_saving_a_partnership_never_undoes_a_stage_change_made_meanwhile(client, coordinator):
    partnership = PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    client.force_login(coordinator)
    data = form_data(client.get(url(Partnership, "change", partnership.pk)))

    def move_meanwhile(sender, instance, **kwargs):
        # Another user's "Change stage" commits between the read and the write.
        if instance.pk == partnership.pk:
            Partnership.objects.filter(pk=instance.pk).update(stage=Partnership.Stage.ACTIVE)

    pre_save.connect(move_meanwhile, sender=Partnership)
    try:
        response = client.post(
            url(Partnership, "change", partnership.pk), {**data, "notes": "Warm"}
        )
    finally:
        pre_save.disconnect(move_meanwhile, sender=Partnership)

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert (partnership.stage, partnership.notes) == (Partnership.Stage.ACTIVE, "Warm")


def test_partnership_stage_is_chosen_on_the_add_form(client, coordinator):
    organization, project = OrganizationFactory(), ProjectFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Partnership, "add")))

    response = client.post(
        url(Partnership, "add"),
        {
            **data,
            "organization": organization.pk,
            "project": project.pk,
            "role": Partnership.Role.PAYMENT_NETWORK,
            "stage": Partnership.Stage.CONTACTED,
        },
    )

    assert response.status_code == 302
    partnership = Partnership.objects.get()
    assert partnership.stage == Partnership.Stage.CONTACTED
    assert response.url == url(Partnership, "changelist")
    change = StageChange.objects.get()
    assert (change.partnership, change.from_stage, change.to_stage, change.changed_by) == (
        partnership,
        "",
        "contacted",
        coordinator,
    )
    assert partnership.history.get().history_user == coordinator


@pytest.mark.parametrize(
    ("parent_model", "make_parent", "other_field", "make_other"),
    [
        (Organization, OrganizationFactory, "project", ProjectFactory),
        (Project, ProjectFactory, "organization", OrganizationFactory),
    ],
)
def test_a_partnership_added_in_an_inline_starts_its_stage_history(
    client, coordinator, parent_model, make_parent, other_field, make_other
):
    parent, other = make_parent(), make_other()
    existing = PartnershipFactory(**{parent_model._meta.model_name: parent})
    client.force_login(coordinator)
    parent_url = url(parent_model, "change", parent.pk)
    data = form_data(client.get(parent_url))

    response = client.post(
        parent_url,
        {
            **data,
            "partnerships-TOTAL_FORMS": "2",
            "partnerships-0-notes": "",
            "partnerships-0-contact_cadence_days": "30",
            f"partnerships-1-{other_field}": other.pk,
            "partnerships-1-role": Partnership.Role.FUNDER,
            "partnerships-1-stage": Partnership.Stage.EXPLORING,
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    added = Partnership.objects.exclude(pk=existing.pk).get()
    assert added.stage == Partnership.Stage.EXPLORING
    change = StageChange.objects.get()
    assert (change.partnership, change.from_stage, change.to_stage, change.changed_by) == (
        added,
        "",
        "exploring",
        coordinator,
    )
    # The row already there is saved as usual, with no stage history of its own.
    existing.refresh_from_db()
    assert existing.contact_cadence_days == 30
    assert not existing.stage_changes.exists()


def test_a_partnership_s_first_stage_shows_as_coming_from_nowhere(client, coordinator, english):
    partnership = services.partnership_create(
        by=coordinator,
        organization=OrganizationFactory(),
        project=ProjectFactory(),
        role=Partnership.Role.FUNDER,
        stage=Partnership.Stage.CONTACTED,
    )
    client.force_login(coordinator)

    response = client.get(url(Partnership, "change", partnership.pk))

    assert response.status_code == 200
    (inline,) = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is StageChange
    ]
    (row,) = list(inline)
    shown = {
        field.field["name"]: str(field.contents())
        for fieldset in row
        for line in fieldset
        for field in line
    }
    assert (shown["from_stage"], shown["to_stage"]) == ("—", "Contacted")
    changelist = client.get(url(StageChange, "changelist"))
    assert '<td class="field-from_stage">—</td>' in changelist.text


def test_partnership_stage_is_locked_in_the_organisation_inline(client, coordinator):
    partnership = PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    client.force_login(coordinator)
    organization_url = url(Organization, "change", partnership.organization.pk)
    data = form_data(client.get(organization_url))

    response = client.post(
        organization_url, {**data, "partnerships-0-stage": Partnership.Stage.ACTIVE}
    )

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert partnership.stage == Partnership.Stage.CONTACTED


# Bulk actions with an intermediate page.


def test_mark_done_asks_for_a_note_first(client, coordinator):
    follow_ups = FollowUpFactory.create_batch(2)
    client.force_login(coordinator)

    response = post_action(client, FollowUp, "mark_done", follow_ups)

    assert response.status_code == 200
    assert "admin/crm/followup/complete.html" in [t.name for t in response.templates]
    assert not response.context["form"].errors
    for follow_up in follow_ups:
        assert f'name="{ACTION_CHECKBOX_NAME}" value="{follow_up.pk}"' in response.text
    assert 'name="action" value="mark_done"' in response.text
    assert FollowUp.objects.filter(status=FollowUp.Status.OPEN).count() == 2


def test_mark_done_without_a_note_shows_an_error_and_changes_nothing(client, coordinator):
    follow_ups = FollowUpFactory.create_batch(2)
    client.force_login(coordinator)

    response = post_action(
        client, FollowUp, "mark_done", follow_ups, post="yes", completion_note="   "
    )

    assert response.status_code == 200
    assert "completion_note" in response.context["form"].errors
    assert FollowUp.objects.filter(status=FollowUp.Status.OPEN).count() == 2


def test_mark_done_completes_every_selected_follow_up_through_the_service(
    client, coordinator, english
):
    selected = FollowUpFactory.create_batch(2)
    untouched = FollowUpFactory()
    client.force_login(coordinator)

    with mock.patch(
        "crm.admin.follow_ups.services.follow_up_complete", wraps=services.follow_up_complete
    ) as complete:
        response = post_action(
            client, FollowUp, "mark_done", selected, post="yes", completion_note="Deck sent"
        )

    assert response.status_code == 302
    assert complete.call_count == 2
    for follow_up in selected:
        follow_up.refresh_from_db()
        assert follow_up.status == FollowUp.Status.DONE
        assert follow_up.completed_by == coordinator
        assert follow_up.completed_at is not None
        assert follow_up.completion_note == "Deck sent"
    untouched.refresh_from_db()
    assert untouched.status == FollowUp.Status.OPEN
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "2 follow-ups marked done." in messages


def test_mark_done_leaves_closed_follow_ups_alone(client, coordinator, english):
    cancelled = FollowUpFactory(status=FollowUp.Status.CANCELLED)
    open_one = FollowUpFactory()
    client.force_login(coordinator)

    response = post_action(
        client, FollowUp, "mark_done", [cancelled, open_one], post="yes", completion_note="Done"
    )

    assert response.status_code == 302
    cancelled.refresh_from_db()
    assert cancelled.status == FollowUp.Status.CANCELLED
    open_one.refresh_from_db()
    assert open_one.status == FollowUp.Status.DONE
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "1 follow-up marked done.",
        "1 follow-up was already closed and was left as it was.",
    ]


def test_reassign_gives_the_selected_follow_ups_to_another_member_of_staff(
    client, coordinator, english, staff_user
):
    selected = FollowUpFactory.create_batch(3, assignee=coordinator)
    client.force_login(coordinator)

    page = post_action(client, FollowUp, "reassign", selected)
    response = post_action(
        client, FollowUp, "reassign", selected, post="yes", assignee=staff_user.pk
    )

    assert page.status_code == 200
    assert "admin/crm/followup/reassign.html" in [t.name for t in page.templates]
    assert response.status_code == 302
    assert FollowUp.objects.filter(assignee=staff_user).count() == 3
    history = FollowUp.history.filter(assignee=staff_user).first()
    assert history.history_user == coordinator
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["3 follow-ups assigned to staffer."]


def test_reassign_offers_only_active_staff_members(client, coordinator, reader, staff_user):
    follow_up = FollowUpFactory()
    # Admin access (is_staff) alone does not make someone a member of staff.
    outsider = UserFactory(is_staff=True)
    gone = UserFactory(is_active=False, is_superuser=True)
    client.force_login(coordinator)

    page = post_action(client, FollowUp, "reassign", [follow_up])
    response = post_action(
        client, FollowUp, "reassign", [follow_up], post="yes", assignee=reader.pk
    )

    choices = set(page.context["form"].fields["assignee"].queryset)
    assert coordinator in choices
    assert staff_user in choices
    assert reader not in choices
    assert outsider not in choices
    assert gone not in choices
    assert response.status_code == 200
    assert "assignee" in response.context["form"].errors
    follow_up.refresh_from_db()
    assert follow_up.assignee is None


def test_reassign_leaves_closed_follow_ups_alone(client, coordinator, english, staff_user):
    done = FollowUpFactory(
        assignee=coordinator,
        status=FollowUp.Status.DONE,
        completed_at=timezone.now(),
        completed_by=coordinator,
        completion_note="Sent",
    )
    cancelled = FollowUpFactory(assignee=coordinator, status=FollowUp.Status.CANCELLED)
    open_one = FollowUpFactory(assignee=coordinator)
    client.force_login(coordinator)

    response = post_action(
        client,
        FollowUp,
        "reassign",
        [done, cancelled, open_one],
        post="yes",
        assignee=staff_user.pk,
    )

    assert response.status_code == 302
    assert list(FollowUp.objects.filter(assignee=staff_user)) == [open_one]
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "1 follow-up assigned to staffer.",
        "2 follow-ups are closed and were not reassigned.",
    ]


def test_change_stage_records_each_move_and_skips_those_already_there(
    client, coordinator, english
):
    contacted = PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    identified = PartnershipFactory(stage=Partnership.Stage.IDENTIFIED)
    already = PartnershipFactory(stage=Partnership.Stage.EXPLORING)
    client.force_login(coordinator)

    page = post_action(client, Partnership, "change_stage", [contacted, identified, already])
    response = post_action(
        client,
        Partnership,
        "change_stage",
        [contacted, identified, already],
        post="yes",
        stage=Partnership.Stage.EXPLORING,
        note="Second call booked",
    )

    assert page.status_code == 200
    assert "admin/crm/partnership/change_stage.html" in [t.name for t in page.templates]
    assert response.status_code == 302
    moves = {
        (change.partnership, change.from_stage, change.to_stage, change.changed_by, change.note)
        for change in StageChange.objects.all()
    }
    assert moves == {
        (contacted, "contacted", "exploring", coordinator, "Second call booked"),
        (identified, "identified", "exploring", coordinator, "Second call booked"),
    }
    assert set(Partnership.objects.values_list("stage", flat=True)) == {"exploring"}
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages[0] == "2 partnerships moved to “Exploring”."
    assert messages[1].startswith("1 partnership was already at “Exploring”")
    assert str(already) in messages[1]


def test_change_stage_needs_a_stage(client, coordinator):
    partnership = PartnershipFactory()
    client.force_login(coordinator)

    response = post_action(
        client, Partnership, "change_stage", [partnership], post="yes", stage="nowhere"
    )

    assert response.status_code == 200
    assert "stage" in response.context["form"].errors
    assert not StageChange.objects.exists()


def test_stage_changes_show_read_only_on_the_partnership(client, coordinator):
    change = StageChangeFactory(note="Met in Washington")
    client.force_login(coordinator)

    response = client.get(url(Partnership, "change", change.partnership.pk))

    assert response.status_code == 200
    (inline,) = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is StageChange
    ]
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission
    assert "Met in Washington" in response.text


def test_the_partnership_list_names_owners_and_dates_contacts_as_precisely_as_the_source(
    client, coordinator, english
):
    # Issue 19: the list showed user names, and "01/09/2023" for "late September".
    owner = UserFactory(username="amensah", first_name="Ama", last_name="Mensah")
    partnership = PartnershipFactory(owner=owner)
    InteractionFactory(
        organizations=[partnership.organization],
        occurred_on=date(2023, 9, 1),
        date_precision="late_month",
    )
    client.force_login(coordinator)

    html = client.get(reverse("admin:crm_partnership_changelist")).content.decode()

    assert "Ama Mensah" in html and "amensah" not in html
    assert "late September 2023" in html
