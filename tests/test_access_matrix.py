"""Every URL the resolver knows × every kind of visitor → the exact status (issue 9).

A new URL pattern without a row here fails ``test_every_url_pattern_is_in_the_matrix``:
add a row to ``PAGES`` (or a model to ``ADMIN_MODELS``) saying what each visitor
must get. Statuses are written by hand, from what the page is for, never copied
from what it answers: that is the point of the matrix.

Visitors: anonymous; an inactive account (with the Coordination role, to show the
role does not help); a user with no role (but "staff status", so the admin lets
them in); Read-only; Staff; Coordination. Every request is a GET (a HEAD for
none); POST-only views answer 405 to it after their login check.
"""

from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm import roles, services
from crm.calendar import calendar_url_for
from crm.jobs import write_export
from crm.models import (
    AgreementSignatory,
    ApiToken,
    DigestLog,
    ExportJob,
    ExportLog,
    FollowUpPlan,
    FollowUpPlanStep,
    ImportJob,
    Merge,
    PersonRead,
    PrivacyRequest,
    ScheduledRun,
    StaffProfile,
)
from crm.storage import document_storage
from tests import factories
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

VISITORS = ("anonymous", "inactive", "no role", "read-only", "staff", "coordination")


def statuses(text: str) -> dict[str, int]:
    """Read "302 302 403 200 200 200": one status per visitor, in VISITORS order."""
    codes = [int(code) for code in text.split()]
    assert len(codes) == len(VISITORS), text
    return dict(zip(VISITORS, codes, strict=True))


# Pages and endpoints outside the admin: pattern → (URL, statuses).
# URLs are formatted with the objects of the ``world`` fixture as ``w``.
LOGIN_ONLY = "302 302 200 200 200 200"  # any logged-in user, role or not
READERS = "302 302 403 200 200 200"  # the staff pages: a role is needed to read
WRITERS = "302 302 403 403 200 200"  # Staff and Coordination (add/change rights)
# Refused before the login check: a GET gets nothing from them, whoever sends it.
POST_ONLY = "405 405 405 405 405 405"
API_READ = "401 401 403 200 200 200"
API_POST_ONLY = "401 401 403 405 405 405"
EVERYONE = "200 200 200 200 200 200"
COORDINATION_ONLY = "302 302 403 403 403 200"
# The data-protection officer's (a role none of the visitors holds: see
# tests/test_personal_data.py for the officer's own access).
DATA_PROTECTION_ONLY = "302 302 403 403 403 403"
NOBODY = "404 404 404 404 404 404"

PAGES: dict[str, tuple[str, str]] = {
    "": ("/", READERS),
    # Search shows each kind of record only to those who may view it.
    "search/": ("/search/?q=visa", LOGIN_ONLY),
    # The choosers' lists: a kind of record to those who may view it.
    "choose/<slug:kind>/": ("/choose/organizations/?q=visa", READERS),
    "organizations/<slug:slug>/": ("/organizations/{w.organization.slug}/", READERS),
    "projects/<slug:code>/": ("/projects/{w.project.code}/", READERS),
    "partnerships/<int:pk>/": ("/partnerships/{w.partnership.pk}/", READERS),
    "partnerships/<int:pk>/edit/": ("/partnerships/{w.partnership.pk}/edit/", WRITERS),
    "partnerships/<int:pk>/stage/": (
        "/partnerships/{w.partnership.pk}/stage/",
        POST_ONLY,
    ),
    "partnerships/<int:pk>/owner/": ("/partnerships/{w.partnership.pk}/owner/", POST_ONLY),
    "partnerships/<int:pk>/cadence/": ("/partnerships/{w.partnership.pk}/cadence/", POST_ONLY),
    "missions/<slug:slug>/": ("/missions/{w.mission.slug}/", READERS),
    "interactions/new/": ("/interactions/new/", WRITERS),
    "interactions/<slug:slug>/": ("/interactions/{w.interaction.slug}/", READERS),
    "interactions/<slug:slug>/edit/": ("/interactions/{w.interaction.slug}/edit/", WRITERS),
    "interactions/<slug:slug>/apply-plan/": (
        "/interactions/{w.interaction.slug}/apply-plan/",
        POST_ONLY,
    ),
    "follow-ups/new/": ("/follow-ups/new/", WRITERS),
    # The open follow-ups of a record's page as a file: whoever may view follow-ups.
    "follow-ups/export/": ("/follow-ups/export/", READERS),
    "follow-ups/<int:pk>/done/": ("/follow-ups/{w.follow_up.pk}/done/", WRITERS),
    "follow-ups/<int:pk>/snooze/": ("/follow-ups/{w.follow_up.pk}/snooze/", WRITERS),
    "follow-ups/<int:pk>/reassign/": ("/follow-ups/{w.follow_up.pk}/reassign/", WRITERS),
    "follow-ups/<int:pk>/waiting/": ("/follow-ups/{w.follow_up.pk}/waiting/", WRITERS),
    # The schema needs a login but no role: it lists operations, not data.
    "api/v1/schema/": ("/api/v1/schema/", "401 401 200 200 200 200"),
    "api/v1/docs/": ("/api/v1/docs/", LOGIN_ONLY),
    "api/v1/redoc/": ("/api/v1/redoc/", LOGIN_ONLY),
    "api/v1/": ("/api/v1/", "401 401 200 200 200 200"),
    "api/v1/<drf_format_suffix:format>": ("/api/v1/.json", "401 401 200 200 200 200"),
    # An export job's progress and file: its requester's (Staff here) and
    # Coordination's; anyone else is told it does not exist.
    # What the job workers do (issue 23, point 6): Coordination's.
    "jobs/": ("/jobs/", COORDINATION_ONLY),
    "exports/<uuid:pk>/": ("/exports/{w.export_job.pk}/", "302 302 404 404 200 200"),
    "exports/<uuid:pk>/download/": (
        "/exports/{w.export_job.pk}/download/",
        "302 302 404 404 200 200",
    ),
    # Imports (issue 23, point 3): whoever may add and change the records;
    # a job is its requester's (Staff here) and Coordination's, as exports.
    "imports/new/": ("/imports/new/", WRITERS),
    "imports/<uuid:pk>/": ("/imports/{w.import_job.pk}/", "302 302 404 404 200 200"),
    "imports/<uuid:pk>/confirm/": ("/imports/{w.import_job.pk}/confirm/", POST_ONLY),
    "imports/<uuid:pk>/report/": (
        "/imports/{w.import_job.pk}/report/",
        "302 302 404 404 200 200",
    ),
    "api/v1/jobs/<uuid:pk>/": ("/api/v1/jobs/{w.export_job.pk}/", "401 401 404 404 200 200"),
    "api/v1/jobs/<uuid:pk>/download/": (
        "/api/v1/jobs/{w.export_job.pk}/download/",
        "401 401 404 404 200 200",
    ),
    "account/tokens/": ("/account/tokens/", LOGIN_ONLY),
    "account/tokens/<int:pk>/revoke/": (
        "/account/tokens/{w.token.pk}/revoke/",
        "302 302 405 405 405 405",
    ),
    "account/calendar/regenerate/": (
        "/account/calendar/regenerate/",
        "302 302 405 405 405 405",
    ),
    # One's own choice of the weekly summary: any logged-in user, by POST.
    "account/weekly-summary/": ("/account/weekly-summary/", "302 302 405 405 405 405"),
    # The secret in the address is the credential: whoever holds it reads it.
    "calendar/<str:secret>.ics": ("{w.calendar_path}", EVERYONE),
    "accounts/login/": ("/accounts/login/", EVERYONE),
    "accounts/logout/": ("/accounts/logout/", "405 405 405 405 405 405"),
    "accounts/password_change/": ("/accounts/password_change/", LOGIN_ONLY),
    "accounts/password_change/done/": ("/accounts/password_change/done/", LOGIN_ONLY),
    # Password reset is off unless CRM_PASSWORD_RESET_ENABLED.
    "accounts/password_reset/": ("/accounts/password_reset/", NOBODY),
    "accounts/password_reset/done/": ("/accounts/password_reset/done/", NOBODY),
    "accounts/reset/<uidb64>/<token>/": ("/accounts/reset/MQ/set-password/", NOBODY),
    "accounts/reset/done/": ("/accounts/reset/done/", NOBODY),
    "healthz": ("/healthz", EVERYONE),
    # Changing the language works for anyone, logged in or not (POST; a GET
    # without "next" just goes back).
    # Saves a logged-in user's choice, so it changes state: POST only.
    "i18n/setlang/": ("/i18n/setlang/", POST_ONLY),
    # The directory: lists for readers, forms for those who add and change.
    "organizations/": ("/organizations/", READERS),
    "organizations/new/": ("/organizations/new/", WRITERS),
    "organizations/<slug:slug>/edit/": ("/organizations/{w.organization.slug}/edit/", WRITERS),
    "organizations/<slug:slug>/partnerships/new/": (
        "/organizations/{w.organization.slug}/partnerships/new/",
        WRITERS,
    ),
    "people/": ("/people/", READERS),
    "people/new/": ("/people/new/", WRITERS),
    "people/<slug:slug>/": ("/people/{w.person.slug}/", READERS),
    "people/<slug:slug>/edit/": ("/people/{w.person.slug}/edit/", WRITERS),
    "people/<slug:slug>/personal-data/": (
        "/people/{w.person.slug}/personal-data/",
        DATA_PROTECTION_ONLY,
    ),
    "people/<slug:slug>/erase/": ("/people/{w.person.slug}/erase/", DATA_PROTECTION_ONLY),
    "privacy/register/": ("/privacy/register/", COORDINATION_ONLY),
    # Who retention erases next (issue 20, point 6): the officer's.
    "privacy/retention/": ("/privacy/retention/", DATA_PROTECTION_ONLY),
    "roles/new/": ("/roles/new/", WRITERS),
    "roles/<int:pk>/edit/": ("/roles/{w.affiliation.pk}/edit/", WRITERS),
    "projects/": ("/projects/", READERS),
    # The overview for the unit's leadership, and the same as a PDF (issue 21).
    "overview/": ("/overview/", READERS),
    "overview/pdf/": ("/overview/pdf/", READERS),
    "missions/": ("/missions/", READERS),
    "follow-ups/<int:pk>/": ("/follow-ups/{w.follow_up.pk}/", READERS),
    "follow-ups/<int:pk>/edit/": ("/follow-ups/{w.follow_up.pk}/edit/", WRITERS),
    # What partners promised: pages for readers, forms for writers; moves are posted.
    "commitments/new/": ("/commitments/new/?partnership={w.partnership.pk}", WRITERS),
    "commitments/<int:pk>/": ("/commitments/{w.commitment.pk}/", READERS),
    "commitments/<int:pk>/edit/": ("/commitments/{w.commitment.pk}/edit/", WRITERS),
    "commitments/<int:pk>/status/": ("/commitments/{w.commitment.pk}/status/", POST_ONLY),
    "commitments/<int:pk>/deliver/": ("/commitments/{w.commitment.pk}/deliver/", POST_ONLY),
    "commitments/<int:pk>/follow-up/": ("/commitments/{w.commitment.pk}/follow-up/", POST_ONLY),
    "agreements/new/": ("/agreements/new/", WRITERS),
    "agreements/<slug:slug>/": ("/agreements/{w.agreement.slug}/", READERS),
    "agreements/<slug:slug>/edit/": ("/agreements/{w.agreement.slug}/edit/", WRITERS),
    "agreements/<slug:slug>/status/": ("/agreements/{w.agreement.slug}/status/", POST_ONLY),
    "agreements/<slug:slug>/signature/": (
        "/agreements/{w.agreement.slug}/signature/",
        POST_ONLY,
    ),
    "agreements/<slug:slug>/obligation/": (
        "/agreements/{w.agreement.slug}/obligation/",
        POST_ONLY,
    ),
    "documents/new/": ("/documents/new/?organization={w.organization.slug}", WRITERS),
    # Mail: "Courriels à classer" and a message for every role; uploads for writers.
    "mail/": ("/mail/", READERS),
    "mail/upload/": ("/mail/upload/", WRITERS),
    "mail/<int:pk>/": ("/mail/{w.mail.pk}/", READERS),
    "mail/<int:pk>/file/": ("/mail/{w.mail.pk}/file/", POST_ONLY),
    "mail/<int:pk>/discard/": ("/mail/{w.mail.pk}/discard/", POST_ONLY),
    # Files leave only through this view, to those who may read them.
    "documents/<int:pk>/download/": ("/documents/{w.document.pk}/download/", READERS),
    # Finding and merging duplicates: Coordination only.
    "duplicates/": ("/duplicates/", COORDINATION_ONLY),
    "duplicates/<str:kind>/<int:kept>/<int:other>/": (
        "/duplicates/organizations/{w.organization.pk}/{w.other_organization.pk}/",
        COORDINATION_ONLY,
    ),
    # The admin's own pages.
    "admin/": ("/admin/", "302 302 200 200 200 200"),
    "admin/login/": ("/admin/login/", "200 200 302 302 302 302"),
    "admin/logout/": ("/admin/logout/", "302 302 405 405 405 405"),
    "admin/password_change/": ("/admin/password_change/", "302 302 200 200 200 200"),
    "admin/password_change/done/": (
        "/admin/password_change/done/",
        "302 302 200 200 200 200",
    ),
    "admin/autocomplete/": (
        "/admin/autocomplete/?app_label=crm&model_name=followup&field_name=assignee",
        "302 302 403 200 200 200",
    ),
    "admin/jsi18n/": ("/admin/jsi18n/", "302 302 200 200 200 200"),
    "admin/r/<path:content_type_id>/<path:object_id>/": (
        "/admin/r/{w.organization_type}/{w.organization.pk}/",
        "302 302 302 302 302 302",
    ),
    "admin/^(?P<app_label>auth|django_tasks_database|crm|axes)/$": (
        "/admin/crm/",
        "302 302 404 200 200 200",
    ),
    "admin/(?P<url>.*)$": ("/admin/nowhere/", "302 302 404 404 404 404"),
    "admin/auth/user/<id>/password/": (
        "/admin/auth/user/{w.staff.pk}/password/",
        "302 302 403 403 403 200",
    ),
    "admin/crm/organization/import/": (
        "/admin/crm/organization/import/",
        "302 302 403 403 200 200",
    ),
    "admin/crm/person/import/": ("/admin/crm/person/import/", "302 302 403 403 200 200"),
}

# The API's lists and records, for each resource: the router's patterns.
API_RESOURCES = {
    "organizations": "organization",
    "people": "person",
    "affiliations": "affiliation",
    "projects": "project",
    "missions": "mission",
    "interactions": "interaction",
    "partnerships": "partnership",
    "follow-ups": "follow_up",
    "stage-changes": "stage_change",
    "commitments": "commitment",
    "commitment-status-changes": "commitment_change",
    "agreements": "agreement",
    "agreement-status-changes": "agreement_change",
    "documents": "document",
    "mail": "mail",
    "exchange-rates": "rate",
}
# The state actions: POST only, each calling its service.
API_ACTIONS = {
    "partnerships": ["change-stage", "assign-owner"],
    "follow-ups": ["complete", "reassign", "snooze", "mark-waiting", "cancel", "reopen"],
    "commitments": ["confirm", "withdraw", "lapse", "deliver"],
    "agreements": ["submit", "reopen", "sign", "bring-into-force", "expire", "terminate"],
}

for resource, sample in API_RESOURCES.items():
    base = f"api/v1/^{resource}"
    suffix = r"\.(?P<format>[a-z0-9]+)/?$"
    detail = f"/api/v1/{resource}/{{w.{sample}.pk}}/"
    PAGES[f"{base}/$"] = (f"/api/v1/{resource}/", API_READ)
    PAGES[f"{base}{suffix}"] = (f"/api/v1/{resource}.json", API_READ)
    PAGES[f"{base}/(?P<pk>[^/.]+)/$"] = (detail, API_READ)
    PAGES[f"{base}/(?P<pk>[^/.]+){suffix}"] = (detail.rstrip("/") + ".json", API_READ)
    for action in API_ACTIONS.get(resource, []):
        PAGES[f"{base}/(?P<pk>[^/.]+)/{action}/$"] = (f"{detail}{action}/", API_POST_ONLY)
        PAGES[f"{base}/(?P<pk>[^/.]+)/{action}{suffix}"] = (
            f"{detail}{action}.json",
            API_POST_ONLY,
        )

# Read-only actions: project totals of commitments; a document's file.
PAGES["api/v1/^commitments/totals/$"] = ("/api/v1/commitments/totals/", API_READ)
PAGES[r"api/v1/^commitments/totals\.(?P<format>[a-z0-9]+)/?$"] = (
    "/api/v1/commitments/totals.json",
    API_READ,
)
PAGES["api/v1/^documents/(?P<pk>[^/.]+)/download/$"] = (
    "/api/v1/documents/{w.document.pk}/download/",
    API_READ,
)
PAGES[r"api/v1/^documents/(?P<pk>[^/.]+)/download\.(?P<format>[a-z0-9]+)/?$"] = (
    "/api/v1/documents/{w.document.pk}/download.json",
    API_READ,
)

# Each model in the admin: who views (changelist, change page, history), adds
# and deletes, as letters: R(ead-only), S(taff), C(oordination); then the
# object shown, from the ``world`` fixture.
ADMIN_MODELS: dict[str, tuple[str, str, str, str]] = {
    # model: (view, add, delete, sample)
    "auth.user": ("RSC", "C", "", "staff"),
    "auth.group": ("C", "", "", "group"),
    "crm.source": ("RSC", "SC", "C", "source"),
    "crm.organization": ("RSC", "SC", "C", "organization"),
    "crm.person": ("RSC", "SC", "C", "person"),
    "crm.affiliation": ("RSC", "SC", "C", "affiliation"),
    "crm.programme": ("RSC", "SC", "C", "programme"),
    "crm.project": ("RSC", "SC", "C", "project"),
    "crm.mission": ("RSC", "SC", "C", "mission"),
    "crm.interaction": ("RSC", "SC", "C", "interaction"),
    "crm.partnership": ("RSC", "SC", "C", "partnership"),
    # Written by "Change stage" only.
    "crm.stagechange": ("RSC", "", "", "stage_change"),
    "crm.followup": ("RSC", "SC", "C", "follow_up"),
    "crm.followupplan": ("RSC", "SC", "C", "plan"),
    # Made on first use; its user is never changed.
    "crm.staffprofile": ("RSC", "", "C", "profile"),
    # Everyone's keys: Coordination only; made on the token page only.
    "crm.apitoken": ("C", "", "C", "token"),
    "crm.digestlog": ("RSC", "", "", "digest_log"),
    "crm.exportlog": ("C", "", "", "export_log"),
    "crm.exportjob": ("C", "", "", "export_job"),
    "crm.importjob": ("C", "", "", "import_job"),
    # The schedule's claims (crm.schedule): written by the workers only.
    "crm.scheduledrun": ("C", "", "", "scheduled_run"),
    # The data-protection officer's alone (tests/test_personal_data.py): none here.
    "crm.privacyrequest": ("", "", "", "privacy_request"),
    "crm.personread": ("", "", "", "person_read"),
    # Rates are the unit's figures: everyone reads them, Coordination enters them.
    "crm.exchangerate": ("RSC", "C", "C", "rate"),
    "crm.commitment": ("RSC", "SC", "C", "commitment"),
    "crm.agreement": ("RSC", "SC", "C", "agreement"),
    "crm.agreementsignatory": ("RSC", "SC", "C", "signatory"),
    # A file is never overwritten: a new one is a new revision.
    "crm.document": ("RSC", "SC", "C", "document"),
    # The record of merges, made on the duplicates page only.
    "crm.merge": ("RSC", "", "", "merge"),
    # Received through the doors, filed or discarded by actions: never added,
    # edited or deleted in the admin (Read-only sees no body there).
    "crm.mailmessage": ("RSC", "", "", "mail"),
    "axes.accessattempt": ("C", "", "C", "attempt"),
    "axes.accesslog": ("C", "", "", "access_log"),
    # The job queue: read-only, for Coordination.
    "django_tasks_database.dbtaskresult": ("C", "", "", "task_result"),
}
# The change form's buttons: one state action on one record, its page shown to
# those who may change the record (a GET never changes anything).
PAGES["admin/crm/followup/<path:object_id>/act/<str:action>/"] = (
    "/admin/crm/followup/{w.follow_up.pk}/act/snooze/",
    "302 302 403 403 200 200",
)
PAGES["admin/crm/partnership/<path:object_id>/act/<str:action>/"] = (
    "/admin/crm/partnership/{w.partnership.pk}/act/change_stage/",
    "302 302 403 403 200 200",
)

# Models whose history (django-simple-history) has a page per past version.
SIMPLE_HISTORY = {
    "organization",
    "person",
    "affiliation",
    "interaction",
    "partnership",
    "followup",
    "exchangerate",
    "commitment",
    "agreement",
    "document",
}

ROLE_LETTERS = {"read-only": "R", "staff": "S", "coordination": "C"}


def admin_statuses(allowed: str) -> str:
    """Statuses of an admin page open to the roles in ``allowed``."""
    codes = ["302", "302", "403"] + [
        "200" if ROLE_LETTERS[visitor] in allowed else "403" for visitor in VISITORS[3:]
    ]
    return " ".join(codes)


for label, (view, add, delete, sample) in ADMIN_MODELS.items():
    app, model = label.split(".")
    base = f"admin/{app}/{model}/"
    obj = f"/admin/{app}/{model}/{{w.{sample}.pk}}/"
    PAGES[base] = (f"/{base}", admin_statuses(view))
    PAGES[f"{base}add/"] = (f"/{base}add/", admin_statuses(add))
    PAGES[f"{base}<path:object_id>/history/"] = (f"{obj}history/", admin_statuses(view))
    PAGES[f"{base}<path:object_id>/delete/"] = (f"{obj}delete/", admin_statuses(delete))
    PAGES[f"{base}<path:object_id>/change/"] = (f"{obj}change/", admin_statuses(view))
    # The old URL of a change page redirects to the new one, for anyone.
    PAGES[f"{base}<path:object_id>/"] = (obj, "302 302 302 302 302 302")
    if model in SIMPLE_HISTORY:
        PAGES[f"{base}^([^/]+)/history/([^/]+)/$"] = (
            f"{obj}history/{{w.history.{model}}}/",
            admin_statuses(view),
        )


def url_patterns(patterns=None, prefix: str = ""):
    """Yield the route of every URL pattern the resolver knows, includes expanded."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_url_pattern_is_in_the_matrix():
    missing = [route for route in url_patterns() if route not in PAGES]

    assert not missing, (
        "These URL patterns are not in the access matrix: add each to PAGES (or its "
        "model to ADMIN_MODELS) in tests/test_access_matrix.py, with the status each "
        "visitor must get:\n  " + "\n  ".join(missing)
    )


def test_the_matrix_names_no_url_that_is_gone():
    known = set(url_patterns())

    assert [route for route in PAGES if route not in known] == []


def _user(username: str, role: str | None, **fields):
    user = factories.UserFactory(username=username, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _promises(staff, organization, partnership, affiliation) -> dict:
    """A commitment, an agreement with a signatory, a document and a rate."""
    commitment = services.commitment_create(
        by=staff,
        partnership=partnership,
        kind="financing",
        description="A grant",
        amount=1000,
        currency="XOF",
    )
    agreement = services.agreement_create(
        by=staff, slug="mou", kind="mou", title="MoU", parties=[organization]
    )
    party = agreement.parties.get()
    document = services.document_create(
        by=staff,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="note.pdf"),
        title="Note",
        organization=organization,
    )
    return {
        "commitment": commitment,
        "commitment_change": commitment.status_changes.first(),
        "agreement": agreement,
        "agreement_change": agreement.status_changes.first(),
        "signatory": AgreementSignatory.objects.create(party=party, affiliation=affiliation),
        "document": document,
        "rate": factories.ExchangeRateFactory(),
    }


@pytest.fixture
def world(rf):
    """One object of every kind, and one user per kind of visitor."""
    users = {
        "inactive": _user("inactive", roles.COORDINATION, is_active=False),
        "no role": _user("norole", None),
        "read-only": _user("reader", roles.READ_ONLY),
        "staff": _user("staffer", roles.STAFF),
        "coordination": _user("coordinator", roles.COORDINATION),
    }
    staff = users["staff"]
    organization = factories.OrganizationFactory()
    project = factories.ProjectFactory()
    partnership = factories.PartnershipFactory(organization=organization, project=project)
    follow_up = factories.FollowUpFactory(
        project=project, organization=organization, assignee=staff
    )
    affiliation = factories.AffiliationFactory(organization=organization)
    interaction = factories.InteractionFactory(organizations=[organization])
    plan = FollowUpPlan.objects.create(slug="plan", name="Plan")
    FollowUpPlanStep.objects.create(plan=plan, offset_days=2, title="Thank-you note")
    token, _key = ApiToken.create_for(staff, name="BI")
    person = affiliation.person

    def first_history(obj) -> int:
        return obj.history.order_by("history_id").first().history_id

    promises = _promises(staff, organization, partnership, affiliation)
    mail = services.mail_receive(
        raw=b"From: someone@unknown-test.org\r\nSubject: Hello\r\n\r\nHi\r\n", door="upload"
    ).message
    objects = SimpleNamespace(
        mail=mail,
        staff=staff,
        group=Group.objects.get(name=roles.STAFF),
        source=factories.SourceFactory(),
        organization=organization,
        organization_type=ContentType.objects.get_for_model(organization).pk,
        person=person,
        affiliation=affiliation,
        programme=project.programme,
        project=project,
        mission=factories.MissionFactory(),
        interaction=interaction,
        partnership=partnership,
        stage_change=factories.StageChangeFactory(partnership=partnership),
        follow_up=follow_up,
        plan=plan,
        profile=StaffProfile.for_user(staff),
        token=token,
        digest_log=DigestLog.objects.create(
            user=staff,
            digest_on=TODAY,
            status=DigestLog.Status.SENT,
            claimed_at=timezone.now(),
            sent_at=timezone.now(),
        ),
        other_organization=factories.OrganizationFactory(),
        **promises,
        merge=Merge.objects.create(
            kind="organization",
            kept_id=organization.pk,
            kept_name=organization.name,
            removed_id=organization.pk + 1000,
            removed_slug="gone",
            removed_name="Gone",
            merged_at=timezone.now(),
            merged_by=staff,
        ),
        export_log=ExportLog.objects.create(
            user=staff, username="staffer", kind="csv", resource="follow-ups", row_count=1
        ),
        scheduled_run=ScheduledRun.objects.create(name="digests", slot=timezone.now()),
        export_job=ExportJob.objects.create(
            requested_by=staff,
            status="done",
            kind="csv",
            resource="follow-ups",
            permission="crm.view_followup",
            filename="follow-ups.csv",
            total=1,
            done=1,
            file=document_storage.save("exports/job.csv", ContentFile(b"title\nA\n")),
        ),
        import_job=ImportJob.objects.create(
            requested_by=staff,
            kind="organizations",
            file_name="orgs.csv",
            step="import",
            status="done",
            report=document_storage.save("imports/report.csv", ContentFile(b"Row,Outcome\n")),
        ),
        task_result=DBTaskResult.objects.get(id=write_export.enqueue("unknown").id),
        privacy_request=PrivacyRequest.objects.create(kind="access", person_id_number=1),
        person_read=PersonRead.objects.create(what="page", person_id_number=1),
        attempt=AccessAttempt.objects.create(
            username="someone",
            ip_address="10.0.0.1",
            failures_since_start=1,
            get_data="",
            post_data="",
            http_accept="",
            path_info="/accounts/login/",
            user_agent="",
        ),
        access_log=AccessLog.objects.create(
            username="staffer", ip_address="10.0.0.1", http_accept="", path_info="/", user_agent=""
        ),
        calendar_path=calendar_url_for(staff, rf.get("/")).removeprefix("http://testserver"),
        history=SimpleNamespace(
            organization=first_history(organization),
            person=first_history(person),
            affiliation=first_history(affiliation),
            interaction=first_history(interaction),
            partnership=first_history(partnership),
            followup=first_history(follow_up),
            exchangerate=first_history(promises["rate"]),
            commitment=first_history(promises["commitment"]),
            agreement=first_history(promises["agreement"]),
            document=first_history(promises["document"]),
        ),
    )
    clients = {"anonymous": Client(raise_request_exception=False)}
    for visitor, user in users.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[visitor] = client
    return objects, clients


def test_every_visitor_gets_the_expected_status_on_every_url(world):
    objects, clients = world
    wrong = []
    for _route, (url_template, expected) in sorted(PAGES.items()):
        url = url_template.format(w=objects)
        for visitor, status in statuses(expected).items():
            got = clients[visitor].get(url).status_code
            if got != status:
                wrong.append(f"{url} as {visitor}: expected {status}, got {got}")

    assert not wrong, "\n".join(wrong)


def test_the_visitors_are_who_the_matrix_says(world):
    _objects, clients = world
    logged_in = {visitor: "_auth_user_id" in client.session for visitor, client in clients.items()}
    reached = clients["inactive"].get("/")

    # An inactive account's session is refused: the login page, as for anyone.
    assert reached.status_code == 302
    assert logged_in == dict.fromkeys(VISITORS, True) | {"anonymous": False}


def test_a_coordinator_cannot_demote_a_peer_then_reset_their_password(world):
    # The three requests of issue 17, each of which the statuses above would
    # allow on an account that is not protected.
    _objects, clients = world
    coordination = clients["coordination"]
    peer = _user("coordinator2", roles.COORDINATION)
    role = str(Group.objects.get(name=roles.COORDINATION).pk)
    form = {
        "username": peer.username,
        "email": peer.email,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": peer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": peer.date_joined.strftime("%H:%M:%S"),
    }
    password = "Le-mot-de-passe-de-l-attaquant-7"

    codes = [
        coordination.post(f"/admin/auth/user/{peer.pk}/change/", form).status_code,
        coordination.post(
            f"/admin/auth/user/{peer.pk}/password/",
            {"password1": password, "password2": password},
        ).status_code,
        coordination.post(
            f"/admin/auth/user/{peer.pk}/change/",
            {**form, "email": "attacker@example.org", "groups": [role]},
        ).status_code,
    ]

    assert codes == [403, 403, 403]
    peer.refresh_from_db()
    assert roles.is_coordination(peer)
    assert not peer.check_password(password)
    assert peer.email == "coordinator2@example.org"
