"""Bounded pages: groups and counts in SQL, no page reads more rows than it shows.

The dashboard (mine and team), the organisation, project and mission pages, the
digest and the admin's big changelists run the same number of queries with one
follow-up as with sixty, and list at most their limit. On PostgreSQL the admin's
unfiltered count is the planner's estimate, its search and default ordering are
served by indexes.
"""

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import digests, services
from crm.admin import changelist
from crm.agenda import dashboard_groups
from crm.managers import WAITING_TOO_LONG_DAYS, WEEK_DAYS
from crm.models import FollowUp, Partnership
from crm.views.common import FOLLOW_UP_LIMIT
from crm.views.missions import MEETINGS_PER_PAGE, PER_PAGE, PER_PARTNER
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

MANY = 60


def python_groups(follow_ups, *, on: date) -> dict[str, list[FollowUp]]:
    """The dashboard's grouping as it was done in Python, the reference for the SQL one."""
    groups = {key: [] for key in ("overdue", "today", "week", "later", "waiting")}
    for follow_up in sorted(follow_ups, key=lambda f: (f.due_on, f.pk)):
        if not follow_up.is_open:
            continue
        if follow_up.status == FollowUp.Status.WAITING:
            key = "waiting"
        elif follow_up.due_on < on:
            key = "overdue"
        elif follow_up.due_on == on:
            key = "today"
        elif follow_up.due_on <= on + timedelta(days=WEEK_DAYS):
            key = "week"
        else:
            key = "later"
        groups[key].append(follow_up)
    return groups


@pytest.fixture
def boundary_follow_ups(coordinator, staff_user):
    """Follow-ups on every day from 3 days ago to 10 days ahead, in every status."""
    made = []
    for offset in range(-3, 11):
        for n, status in enumerate(FollowUp.Status.values):
            extra = {}
            if status == FollowUp.Status.DONE:
                extra = {"completed_at": timezone.now(), "completion_note": "Sent"}
            if status == FollowUp.Status.WAITING:
                extra = {"waiting_since": TODAY - timedelta(days=WAITING_TOO_LONG_DAYS + n)}
            made.append(
                factories.FollowUpFactory(
                    due_on=TODAY + timedelta(days=offset),
                    status=status,
                    assignee=coordinator if n % 2 else staff_user,
                    **extra,
                )
            )
    return made


def test_sql_dashboard_groups_equal_the_python_grouping(boundary_follow_ups, staff_user):
    for scope in (FollowUp.objects.all(), FollowUp.objects.for_assignee(staff_user)):
        sql = {
            group.key: list(group.follow_ups)
            for group in dashboard_groups(scope, today=TODAY, limit=1_000)
        }
        python = python_groups(list(scope), on=TODAY)

        assert sql == python
        assert all(sql.values())


def test_sql_dashboard_groups_stop_at_the_limit_and_count_the_rest(boundary_follow_ups):
    groups = {g.key: g for g in dashboard_groups(FollowUp.objects.all(), today=TODAY, limit=2)}
    python = python_groups(FollowUp.objects.all(), on=TODAY)

    for key, group in groups.items():
        assert group.follow_ups == python[key][:2]
        assert (group.total, group.more) == (len(python[key]), len(python[key]) - 2)


# Query counts: the same with one follow-up as with sixty.


def _queries(client, url: str) -> int:
    # Once first: a first visit creates what later visits only read (the calendar key).
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _late(n: int, **fields) -> None:
    for _ in range(n):
        factories.FollowUpFactory(due_on=TODAY - timedelta(days=2), **fields)


def _quiet(n: int, **fields) -> None:
    """Make ``n`` partnerships nobody has contacted for 100 days."""
    made = [factories.PartnershipFactory(**fields).pk for _ in range(n)]
    long_ago = timezone.now() - timedelta(days=100)
    Partnership.objects.filter(pk__in=made).update(created_at=long_ago)


@pytest.mark.parametrize("url", ["/", "/?scope=team"], ids=["mine", "team"])
def test_dashboard_queries_do_not_grow_with_follow_ups(
    client, coordinator, django_assert_num_queries, url
):
    client.force_login(coordinator)
    _late(1, assignee=coordinator)
    _quiet(1, owner=coordinator)
    one = _queries(client, url)
    _late(MANY - 1, assignee=coordinator)
    _quiet(MANY - 1, owner=coordinator)

    with django_assert_num_queries(one):
        response = client.get(url)

    overdue = next(g for g in response.context["groups"] if g.key == "overdue")
    assert (len(overdue.follow_ups), overdue.total) == (FOLLOW_UP_LIMIT, MANY)
    quiet = response.context["quiet"]
    assert (len(quiet.partnerships), quiet.total) == (FOLLOW_UP_LIMIT, MANY)


def test_organization_page_queries_do_not_grow_with_follow_ups(
    client, coordinator, django_assert_num_queries
):
    organization = factories.OrganizationFactory(slug="org")
    client.force_login(coordinator)
    _late(1, organization=organization)
    one = _queries(client, "/organizations/org/")
    _late(MANY - 1, organization=organization)

    with django_assert_num_queries(one):
        response = client.get("/organizations/org/")

    listed = response.context["open_follow_ups"]
    assert (len(listed.follow_ups), listed.total) == (FOLLOW_UP_LIMIT, MANY)


def _merged_and_uploaded(n: int, organization, by) -> None:
    """Merge ``n`` duplicates into ``organization`` and upload ``n`` documents to it."""
    for _ in range(n):
        duplicate = factories.OrganizationFactory()
        services.organization_merge(kept=organization, other=duplicate, by=by)
        services.document_create(
            by=by,
            file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="note.pdf"),
            title="Concept note",
            organization=organization,
        )


def test_organization_timeline_queries_do_not_grow_with_merges_and_uploads(
    client, coordinator, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("crm.views.organizations.TIMELINE_LIMIT", 5)
    organization = factories.OrganizationFactory(slug="org")
    client.force_login(coordinator)
    _merged_and_uploaded(1, organization, coordinator)
    one = _queries(client, "/organizations/org/")
    _merged_and_uploaded(7, organization, coordinator)

    with django_assert_num_queries(one):
        response = client.get("/organizations/org/")

    kinds = [entry.kind for entry in response.context["timeline"]]
    # Never more read than shown: the newest five of each, of eight.
    assert (kinds.count("merge"), kinds.count("document")) == (5, 5)


def test_project_page_queries_do_not_grow_with_follow_ups_or_partnerships(
    client, coordinator, django_assert_num_queries
):
    project = factories.ProjectFactory(code="hub")
    client.force_login(coordinator)
    _late(1, project=project)
    factories.PartnershipFactory(project=project, stage=Partnership.Stage.EXPLORING)
    one = _queries(client, "/projects/hub/")
    _late(MANY - 1, project=project)
    for _ in range(MANY - 1):
        factories.PartnershipFactory(project=project, stage=Partnership.Stage.EXPLORING)

    with django_assert_num_queries(one):
        response = client.get("/projects/hub/")

    exploring = next(c for c in response.context["columns"] if c.stage == "exploring")
    assert (len(exploring.partnerships), exploring.total, exploring.more) == (50, MANY, 10)
    assert response.context["partnership_count"] == MANY
    assert "stage__exact=exploring" in exploring.more_url
    assert response.context["open_follow_ups"].total == MANY


def test_mission_page_queries_do_not_grow_with_follow_ups(
    client, coordinator, django_assert_num_queries
):
    mission = factories.MissionFactory(slug="trip")
    interaction = factories.InteractionFactory(mission=mission)
    organization = factories.OrganizationFactory()
    client.force_login(coordinator)
    _late(1, interaction=interaction, organization=organization)
    one = _queries(client, "/missions/trip/")
    _late(MANY - 1, interaction=interaction, organization=organization)

    with django_assert_num_queries(one):
        response = client.get("/missions/trip/")

    (row,) = response.context["partners"]
    assert (len(row.open), row.open_more) == (PER_PARTNER, MANY - PER_PARTNER)
    assert f"{MANY - PER_PARTNER} more" in response.content.decode() or (
        f"{MANY - PER_PARTNER} de plus" in response.content.decode()
    )


def test_a_mission_of_many_meetings_and_partners_is_read_a_page_at_a_time(
    client, coordinator, django_assert_num_queries
):
    """Issue 22: years of meetings under one mission; each page reads what it shows."""
    mission = factories.MissionFactory(slug="years")
    client.force_login(coordinator)
    factories.InteractionFactory(mission=mission, organizations=[factories.OrganizationFactory()])
    one = _queries(client, "/missions/years/")
    for n in range(MEETINGS_PER_PAGE + 5):
        factories.InteractionFactory(
            mission=mission,
            title=f"Meeting {n:03d}",
            occurred_on=date(2023, 9, 1) + timedelta(days=n),
            organizations=[factories.OrganizationFactory(name=f"Partner {n:03d}")],
        )

    with django_assert_num_queries(one):
        first = client.get("/missions/years/")
    second = client.get("/missions/years/?page=2&partners=2")

    assert len(first.context["interactions"]) == MEETINGS_PER_PAGE
    assert first.context["meetings_page"].paginator.count == MEETINGS_PER_PAGE + 6
    assert len(first.context["partners"]) == PER_PAGE
    assert len(second.context["interactions"]) == 6
    assert len(second.context["partners"]) == 6
    assert "?page=2&amp;partners=1#meetings" in first.content.decode()
    assert "?partners=2&amp;page=1#partners" in first.content.decode()


def test_digest_queries_do_not_grow_with_follow_ups(coordinator, django_assert_num_queries):
    _late(1, assignee=coordinator)
    _quiet(1, owner=coordinator)
    with CaptureQueriesContext(connection) as captured:
        digests.compute(coordinator, on=TODAY)
    _late(MANY - 1, assignee=coordinator)
    _quiet(MANY - 1, owner=coordinator)

    with django_assert_num_queries(len(captured)):
        digest = digests.compute(coordinator, on=TODAY)

    assert (len(digest.overdue), digest.counts["overdue"], digest.more["overdue"]) == (
        50,
        MANY,
        MANY - 50,
    )
    assert (len(digest.stale), digest.counts["stale"]) == (50, MANY)


def test_the_digest_e_mail_lists_fifty_and_counts_the_rest(coordinator):
    coordinator.email = "coordinator@example.org"
    _late(MANY, assignee=coordinator)

    message = digests.message(digests.compute(coordinator, on=TODAY))

    assert f"({MANY})" in message.body
    assert "10 more…" in message.body or "10 de plus…" in message.body
    assert "60 overdue" in message.subject or "60 en retard" in message.subject


# The admin's changelists.

CHANGELISTS = ["followup", "interaction", "partnership", "organization", "person", "stagechange"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_admin_changelist_queries_do_not_grow_and_read_no_distinct(
    client, coordinator, django_assert_num_queries, model
):
    url = reverse(f"admin:crm_{model}_changelist")
    client.force_login(coordinator)
    _late(1, assignee=coordinator)
    one = _queries(client, url)
    _late(MANY - 1, assignee=coordinator)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)

    assert response.status_code == 200
    assert len(captured) == one
    # Neither the date hierarchy nor a related-only filter reads every row.
    table = f'FROM "crm_{model}"'
    assert not [q["sql"] for q in captured if "DISTINCT" in q["sql"] and table in q["sql"]]


def test_the_date_hierarchy_spans_the_first_to_the_last_year(client, coordinator):
    factories.FollowUpFactory(due_on=date(2024, 5, 1))
    factories.FollowUpFactory(due_on=date(2026, 2, 1))
    client.force_login(coordinator)

    response = client.get(reverse("admin:crm_followup_changelist"))
    by_month = client.get(reverse("admin:crm_followup_changelist"), {"due_on__year": 2024})

    assert [choice["title"] for choice in _hierarchy(response)] == ["2024", "2025", "2026"]
    assert len(_hierarchy(by_month)) == 1  # May 2024, the only month with rows that year


def _hierarchy(response) -> list[dict]:
    return changelist.bounded_date_hierarchy(response.context["cl"])["choices"]


def test_the_assignee_filter_lists_staff_without_reading_the_follow_ups(
    client, coordinator, staff_user
):
    client.force_login(coordinator)

    response = client.get(reverse("admin:crm_followup_changelist"))

    specs = response.context["cl"].filter_specs
    spec = next(f for f in specs if getattr(f, "field_path", "") == "assignee")
    assert isinstance(spec, changelist.StaffListFilter)
    assert staff_user.pk in {pk for pk, _ in spec.lookup_choices}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("visa", {"Call Visa", "By organisation"}),
        ("togo", {"By project"}),
        ("amavi", {"By person"}),
        ("call visa", {"Call Visa"}),
        ("nowhere", set()),
    ],
)
def test_admin_search_finds_own_and_related_columns(client, coordinator, term, expected):
    factories.FollowUpFactory(title="Call Visa")
    factories.FollowUpFactory(
        title="By organisation", organization=factories.OrganizationFactory(name="Visa Inc.")
    )
    factories.FollowUpFactory(
        title="By project", project=factories.ProjectFactory(name="Digital Togo")
    )
    factories.FollowUpFactory(
        title="By person", person=factories.PersonFactory(family_name="Amavi")
    )
    factories.FollowUpFactory(title="Unrelated")
    client.force_login(coordinator)

    response = client.get(reverse("admin:crm_followup_changelist"), {"q": term})

    assert {f.title for f in response.context["cl"].result_list} == expected


# PostgreSQL: the estimate, the indexes.


def test_an_unfiltered_big_table_is_counted_by_estimate(
    postgres_only, client, coordinator, monkeypatch
):
    monkeypatch.setattr(changelist, "ESTIMATED_COUNT_FROM", 1)
    _late(3, assignee=coordinator)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_followup")
    client.force_login(coordinator)
    url = reverse("admin:crm_followup_changelist")

    with CaptureQueriesContext(connection) as unfiltered:
        client.get(url)
    with CaptureQueriesContext(connection) as filtered:
        response = client.get(url, {"status__exact": "open"})

    counts = [q["sql"] for q in unfiltered if "COUNT(" in q["sql"].upper()]
    assert counts == []
    assert any("reltuples" in q["sql"] for q in unfiltered)
    assert response.context["cl"].result_count == 3
    assert any("COUNT(" in q["sql"].upper() for q in filtered)


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_admin_search_is_served_by_trigram_indexes(postgres_only, client, coordinator):
    from crm.admin.follow_ups import FollowUpAdmin

    factories.FollowUpFactory(title="Call Visa")
    request = client.get("/").wsgi_request
    request.user = coordinator
    model_admin = FollowUpAdmin(FollowUp, None)
    queryset, _ = model_admin.get_search_results(request, FollowUp.objects.all(), "visa")

    # Unordered: on a small table the planner would rather walk the ordering index.
    plan = _plan(*queryset.order_by().query.sql_with_params())

    # Title and description in the folded text the staff search reads (migration 0019).
    assert "crm_followup_text_fold_trgm" in plan
    assert "Seq Scan on crm_followup" not in plan


def test_the_changelist_order_is_served_by_an_index(postgres_only):
    queryset = FollowUp.objects.order_by("due_on", "id")[:100]

    plan = _plan(*queryset.query.sql_with_params())

    assert "crm_followup_due_idx" in plan
    assert "Sort" not in plan.split("\n")[1]


def test_trigram_indexes_exist_only_on_postgresql(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "crm_followup")
    trigram = {name for name in constraints if name.endswith("_trgm")}

    if connection.vendor == "postgresql":
        assert {"crm_followup_text_fold_trgm", "crm_followup_name_fold_trgm"} <= trigram
    else:
        assert trigram == set()


def test_an_organisation_s_follow_ups_are_read_from_its_own_indexes(postgres_only):
    """Issue 22: a long-standing partner's page reads its newest and next follow-ups in order."""
    organization = factories.OrganizationFactory()
    open_first = organization.follow_ups.open().order_by("due_on", "id")[:50]
    newest = organization.follow_ups.order_by("-created_at")[:100]
    # On a near-empty table a sort of a few rows is cheapest; forbid it, as a
    # long-standing partner's 100,000 follow-ups would (performance.md, section
    # 10), to see which index gives the order.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")

    open_plan = _plan(*open_first.query.sql_with_params())
    newest_plan = _plan(*newest.query.sql_with_params())

    assert "crm_followup_open_org_idx" in open_plan
    assert "Sort" not in open_plan.split("\n")[1]
    assert "crm_followup_org_new_idx" in newest_plan
    assert "Sort" not in newest_plan.split("\n")[1]
