"""Searches that read only what they show, whatever the number of matches (issue 22).

The staff search ranks a bounded set of candidates (the names that start with
the query, then the first matches found), says "more than N" past its cap and
still lists the exact and prefix matches first. The admin's search folds
accents and case as the staff search does, on every changelist; a search that
matches more than the changelist's cap is counted only up to it and draws no
date bar, and the date bar reads its span once.
"""

import importlib
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.contrib.admin import site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import search
from crm.admin import changelist
from crm.models import FollowUp
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

CAP = 5


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def small_caps(monkeypatch):
    """Caps small enough to pass with a few rows."""
    monkeypatch.setattr(search, "CANDIDATES", CAP)
    monkeypatch.setattr(changelist.EstimatedCountPaginator, "cap", CAP)


@pytest.fixture
def project(db):
    return factories.ProjectFactory(name="Connectivity")


def follow_ups(project, *titles: str, start: int = 0) -> None:
    for n, title in enumerate(titles):
        factories.FollowUpFactory(
            title=title, project=project, due_on=date(2025, 1, 1) + timedelta(days=start + n)
        )


def statements(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


# The staff search.


def test_search_queries_do_not_grow_with_the_matches(client, staff_user, project, small_caps):
    follow_ups(project, "Réunion 1", "Réunion 2")
    client.force_login(staff_user)
    few = statements(client, "/search/", {"q": "reunion"})

    follow_ups(project, *(f"Réunion {n}" for n in range(3, 40)), start=3)

    assert statements(client, "/search/", {"q": "reunion"}) == few


def test_a_common_word_lists_the_exact_and_prefix_matches_first(
    client, staff_user, project, small_caps
):
    # Many titles hold the word, none starts with it; the best ones come last,
    # past the first matches that the search reads.
    follow_ups(project, *(f"Relancer la note {n:02d}" for n in range(20)))
    follow_ups(project, "Note conceptuelle", "Note", start=20)
    client.force_login(staff_user)

    response = client.get("/search/", {"q": "note"})

    titles = [f.title for f in response.context["results"]["follow_ups"]]
    assert titles[:2] == ["Note", "Note conceptuelle"]
    # The prefix matches and the first CAP + 1 matches read (which may hold
    # them), no more.
    assert CAP + 1 <= len(titles) <= 2 + CAP + 1
    group = next(g for g in response.context["groups"] if g.key == "follow_ups")
    assert group.more
    assert 'Follow-ups <span class="count">more than 5</span>' in response.text
    assert f"The {len(titles)} best of more than 5 matches" in response.text


def test_a_rarer_word_is_counted_exactly(client, staff_user, project, small_caps):
    follow_ups(project, "Note 1", "Note 2", "Autre chose")
    client.force_login(staff_user)

    response = client.get("/search/", {"q": "note"})

    group = next(g for g in response.context["groups"] if g.key == "follow_ups")
    assert (group.count, group.more) == (2, False)
    assert "more than" not in response.text


def test_a_number_is_found_as_typed_never_by_a_look_alike(client, staff_user, project):
    follow_ups(project, "Dossier 0004567", "Dossier 0004568", "Dossier 4567")
    client.force_login(staff_user)

    assert [
        f.title for f in client.get("/search/", {"q": "0004567"}).context["results"]["follow_ups"]
    ] == ["Dossier 0004567"]
    # A word still forgives a typo.
    assert "Dossier 0004567" in client.get("/search/", {"q": "dosier"}).text


# The admin's search.


@pytest.mark.parametrize("term", ["reunion lome", "RÉUNION", "Lomé", "réunion LOME"])
def test_admin_search_ignores_accents_and_case_as_the_staff_search_does(
    client, coordinator, project, term
):
    follow_ups(project, "Réunion à Lomé", "Autre chose")
    client.force_login(coordinator)

    response = client.get(reverse("admin:crm_followup_changelist"), {"q": term})

    assert [f.title for f in response.context["cl"].result_list] == ["Réunion à Lomé"]


def test_every_crm_changelist_with_a_search_box_searches_folded_text():
    from crm.admin.changelist import IndexedSearchMixin

    plain = [
        model._meta.label
        for model, model_admin in site._registry.items()
        if model_admin.search_fields and not isinstance(model_admin, IndexedSearchMixin)
    ]

    # Django's groups: a handful of names, its own admin.
    assert plain == ["auth.Group"]


def test_admin_search_folds_related_columns_and_other_changelists_too(
    client, coordinator, project
):
    university = factories.OrganizationFactory(name="Université de Lomé", short_name="UL")
    factories.FollowUpFactory(title="Visite", project=project, organization=university)
    factories.FollowUpFactory(title="Autre", project=project)
    factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")
    client.force_login(coordinator)

    follow_ups_found = client.get(reverse("admin:crm_followup_changelist"), {"q": "universite"})
    people_found = client.get(reverse("admin:crm_person_changelist"), {"q": "stephane KPOWBIE"})
    organizations_found = client.get(reverse("admin:crm_organization_changelist"), {"q": "LOME"})

    assert [f.title for f in follow_ups_found.context["cl"].result_list] == ["Visite"]
    assert [str(p) for p in people_found.context["cl"].result_list] == ["Stéphane Kpowbié"]
    assert [o.name for o in organizations_found.context["cl"].result_list] == [
        "Université de Lomé"
    ]


def test_admin_search_statements_do_not_grow_with_the_matches(
    client, coordinator, project, small_caps
):
    follow_ups(project, "Call 1", "Call 2")
    client.force_login(coordinator)
    url = reverse("admin:crm_followup_changelist")
    few = statements(client, url, {"q": "call"})

    follow_ups(project, *(f"Call {n}" for n in range(3, 40)), start=3)

    # Past the cap, the date bar's statement goes: never more statements.
    assert statements(client, url, {"q": "call"}) <= few


def test_the_date_bar_is_absent_when_the_matches_exceed_the_cap(
    client, coordinator, project, small_caps
):
    follow_ups(project, *(f"Call {n}" for n in range(CAP + 3)), "Visit")
    client.force_login(coordinator)
    url = reverse("admin:crm_followup_changelist")

    many = client.get(url, {"q": "call"})
    few = client.get(url, {"q": "visit"})
    everything = client.get(url)

    assert 'class="toplinks"' not in many.text
    assert "more than 5 results" in many.text
    assert "more than 5 follow-ups" in many.text
    assert 'class="toplinks"' in few.text
    assert "1 result" in few.text
    assert 'class="toplinks"' in everything.text


def test_the_date_bar_reads_its_first_and_last_dates_once(client, coordinator, project):
    follow_ups(project, "Call 1", "Call 2", "Visit")
    client.force_login(coordinator)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:crm_followup_changelist"), {"q": "call"})

    spans = [q["sql"] for q in captured if "MIN(" in q["sql"].upper()]
    assert len(spans) == 1
    assert 'class="toplinks"' in response.text


def test_a_filtered_changelist_is_counted_up_to_the_cap(client, coordinator, project, small_caps):
    follow_ups(project, *(f"Call {n}" for n in range(CAP + 3)))
    client.force_login(coordinator)

    response = client.get(reverse("admin:crm_followup_changelist"), {"status__exact": "open"})

    paginator = response.context["cl"].paginator
    assert (paginator.count, paginator.capped) == (CAP + 1, True)
    assert "more than 5 follow-ups" in response.text


# PostgreSQL: the candidates are read through indexes.


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("model", "index"),
    [
        ("FollowUp", "crm_followup_name_fold_prefix"),
        ("Interaction", "crm_interaction_name_fold_prefix"),
    ],
)
def test_names_that_start_with_the_query_are_read_in_index_order(postgres_only, model, index):
    from crm.views import search as views

    find = {"FollowUp": views._follow_ups, "Interaction": views._meetings}[model]

    plan = _plan(*find("note", None).query.sql_with_params())

    assert index in plan, plan


@pytest.mark.parametrize(
    ("admin_name", "index"),
    [
        ("follow_ups.FollowUpAdmin", "crm_followup_text_fold_trgm"),
        ("missions.InteractionAdmin", "crm_interaction_text_fold_trgm"),
        ("directory.OrganizationAdmin", "crm_organization_admin_fold_trgm"),
        ("directory.PersonAdmin", "crm_person_admin_fold_trgm"),
        ("mail.MailMessageAdmin", "crm_mailmessage_admin_fold_trgm"),
    ],
)
def test_admin_search_reads_the_folded_trigram_indexes(
    postgres_only, rf, coordinator, admin_name, index
):
    module, name = admin_name.split(".")
    admin_class = getattr(importlib.import_module(f"crm.admin.{module}"), name)
    model = next(m for m, a in site._registry.items() if type(a) is admin_class)
    request = rf.get("/")
    request.user = coordinator
    queryset, _ = admin_class(model, None).get_search_results(
        request, model.objects.all(), "réunion"
    )

    plan = _plan(*queryset.order_by().query.sql_with_params())

    assert index in plan, plan


def test_no_upper_index_is_left_for_the_admin_s_own_columns(postgres_only):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, FollowUp._meta.db_table)

    assert "crm_followup_title_trgm" not in constraints
    assert {"crm_followup_text_fold_trgm", "crm_followup_name_fold_prefix"} <= set(constraints)


@pytest.mark.parametrize(
    ("model_name", "fields", "index"),
    [
        ("Organization", ("name", "short_name"), "crm_organization_name_fold_trgm"),
        ("Person", ("given_name", "family_name", "email"), "crm_person_text_fold_trgm"),
    ],
)
def test_the_list_filters_text_search_reads_the_folded_trigram_indexes(
    postgres_only, model_name, fields, index
):
    from crm import models

    model = getattr(models, model_name)
    queryset = search.holding_every_word(model.objects.all(), "société", *fields)

    plan = _plan(*queryset.order_by().query.sql_with_params())

    assert index in plan, plan


def test_every_changelist_answers_a_search_whatever_its_columns(client, django_user_model):
    """A searched column that is not text (a login attempt's address) is compared as text.

    Folding joined it to text as it was, which PostgreSQL refused (an empty
    text is no address): the sweep of issue 22 found the 500.
    """
    superuser = django_user_model.objects.create_superuser("root", "root@example.org")
    client.force_login(superuser)
    searching = [
        (model, model_admin)
        for model, model_admin in site._registry.items()
        if model_admin.search_fields
    ]
    assert len(searching) > 20
    for model, _model_admin in searching:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        for word in ("réunion", "0004567", "127.0.0.1"):
            response = client.get(url, {"q": word})
            assert response.status_code == 200, (url, word)
