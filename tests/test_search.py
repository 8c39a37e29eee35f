"""Search ignores accents and case both ways, covers every kind of record, best match first."""

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import search, services
from tests import factories
from tests.mail_helpers import corpus, mail_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def found(client, query: str, kind: str) -> list[str]:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return [str(item) for item in response.context["results"].get(kind, [])]


@pytest.fixture
def stephane(db):
    return factories.PersonFactory(given_name="Stéphane", family_name="Kpowbié")


@pytest.mark.parametrize("query", ["stephane", "STEPHANE", "Stéphane", "stéphane kpowbie"])
def test_search_finds_stephane_whatever_the_accents_and_capitals(
    client, staff_user, stephane, query
):
    client.force_login(staff_user)
    assert found(client, query, "people") == ["Stéphane Kpowbié"]


def test_search_ignores_accents_the_other_way_too(client, staff_user):
    factories.OrganizationFactory(name="Port autonome de Lome")
    client.force_login(staff_user)
    assert found(client, "LOMÉ", "organizations") == ["Port autonome de Lome"]


def test_search_finds_a_follow_up_by_a_word_of_its_description(client, staff_user):
    factories.FollowUpFactory(title="Relancer", description="Envoyer la note conceptuelle révisée")
    factories.FollowUpFactory(title="Autre chose", description="Rien à voir")
    client.force_login(staff_user)

    assert found(client, "revisee", "follow_ups") == ["Relancer"]


def test_search_covers_meetings_missions_projects_and_notes(client, staff_user):
    factories.InteractionFactory(title="Session du CCA", summary="Paiements marchands au Togo")
    factories.MissionFactory(title="Mission d’exploration", objectives="Paiements numériques")
    factories.ProjectFactory(name="Paiements digitaux")
    factories.PartnershipFactory(notes="Lien paiements : déduit du communiqué")
    client.force_login(staff_user)

    response = client.get("/search/", {"q": "paiements"})

    results = response.context["results"]
    assert [str(i) for i in results["meetings"]] == ["Session du CCA"]
    assert [str(m) for m in results["missions"]] == ["Mission d’exploration"]
    assert [str(p) for p in results["projects"]] == ["Paiements digitaux"]
    assert [n["text"] for n in results["notes"]] == ["Lien paiements : déduit du communiqué"]
    headings = [group.key for group in response.context["groups"]]
    assert headings == ["projects", "meetings", "missions", "notes"]


def test_search_puts_the_best_match_first(client, staff_user):
    factories.OrganizationFactory(name="Acme", description="Works with Visa")
    factories.OrganizationFactory(name="Visa")
    factories.OrganizationFactory(name="Visa Foundation")
    client.force_login(staff_user)

    assert found(client, "visa", "organizations") == ["Visa", "Visa Foundation", "Acme"]


def test_search_forgives_a_typo_in_a_name(client, staff_user):
    factories.OrganizationFactory(name="Mastercard")
    client.force_login(staff_user)
    assert found(client, "mastercrad", "organizations") == ["Mastercard"]


def test_search_forgives_a_typo_in_one_word_of_a_longer_name(client, staff_user):
    factories.OrganizationFactory(name="Université de Stanford", short_name="")
    factories.OrganizationFactory(name="Stanbic Bank", short_name="")
    client.force_login(staff_user)

    content = client.get("/search/", {"q": "stanfrd"}).content.decode()

    assert "Université de Stanford" in content
    assert "Stanbic" not in content


def test_word_similarity_is_pg_trgm_s():
    # The figures PostgreSQL gives (SELECT word_similarity(a, b)).
    assert search.word_similarity("stanfrd", "universite de stanford") == pytest.approx(5 / 8)
    assert search.word_similarity("visa", "visa inc") == 1.0
    assert search.word_similarity("zzz", "visa inc") == 0.0


def test_word_similarity_agrees_with_postgresql(postgres_only):
    pairs = [
        ("stanfrd", "universite de stanford"),
        ("mastercrd", "mastercard"),
        ("port angeles", "port de los angeles"),
        ("visa", "visa inc"),
        ("kpowbie", "stephane kpowbie tchasso akaya"),
        ("stanbic", "universite de stanford"),
    ]
    with connection.cursor() as cursor:
        for query, text in pairs:
            cursor.execute("SELECT word_similarity(%s, %s)", [query, text])
            assert search.word_similarity(query, text) == pytest.approx(
                cursor.fetchone()[0], abs=1e-6
            ), (query, text)
        cursor.execute("SHOW pg_trgm.word_similarity_threshold")
        assert float(cursor.fetchone()[0]) == search.WORD_SIMILARITY_THRESHOLD


def test_search_shows_only_what_the_user_may_see(client):
    factories.OrganizationFactory(name="Visa")
    user = factories.UserFactory(username="nobody")
    client.force_login(user)
    response = client.get("/search/", {"q": "visa"})
    assert response.context["groups"] == []


def test_search_is_bounded_and_its_queries_do_not_grow(client, staff_user):
    client.force_login(staff_user)
    factories.OrganizationFactory(name="Visa 0")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/search/", {"q": "visa"})
        return len(captured)

    few = queries()
    for number in range(1, 30):
        factories.OrganizationFactory(name=f"Visa {number}")

    assert queries() == few
    assert len(found(client, "visa", "organizations")) == 10


def test_an_odd_or_huge_query_is_not_an_error(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/search/", {"q": "%_\\' OR 1=1 --"}).status_code == 200
    assert client.get("/search/", {"q": "a" * 10_000}).status_code == 200
    assert client.get("/search/", {"q": "   "}).status_code == 200


def test_search_needs_login(client):
    assert client.get("/search/?q=visa")["Location"].startswith("/accounts/login/")


def test_fold_and_similarity_match_postgresql_s():
    assert search.fold("Stéphane KPOWBIÉ") == "stephane kpowbie"
    assert search.similarity("visa", "visa") == 1.0
    assert search.similarity("word", "two words") == pytest.approx(4 / 8, abs=0.2)


def test_postgresql_has_the_search_extensions(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname IN ('unaccent', 'pg_trgm')")
        assert {row[0] for row in cursor.fetchall()} == {"unaccent", "pg_trgm"}


def test_the_typo_threshold_is_pg_trgm_s_own(postgres_only):
    # PostgreSQL's % compares with pg_trgm.similarity_threshold; SQLite with ours.
    with connection.cursor() as cursor:
        cursor.execute("SHOW pg_trgm.similarity_threshold")
        assert float(cursor.fetchone()[0]) == search.SIMILARITY_THRESHOLD


@pytest.mark.parametrize(
    ("model", "indexes"),
    [
        ("FollowUp", {"crm_followup_text_fold_trgm", "crm_followup_name_fold_trgm"}),
        ("Interaction", {"crm_interaction_text_fold_trgm", "crm_interaction_name_fold_trgm"}),
    ],
)
def test_the_big_tables_are_searched_through_their_indexes(postgres_only, model, indexes):
    """The SQL that ranked() writes is the expression the indexes of migration 0019 hold."""
    from crm.views import search as views

    find = {"FollowUp": views._follow_ups, "Interaction": views._meetings}[model]
    sql, params = find("Kpowbie visa", None).query.sql_with_params()
    with connection.cursor() as cursor:
        # Forbidden to scan the table or walk another index in order, the
        # planner must find the trigram indexes (bitmap scans) or fail.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert {name for name in indexes if name in plan} == indexes, plan


# Agreements, commitments and documents (issue 19: "protocole" missed the MoU).

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def test_search_covers_agreements_commitments_and_documents(client, staff_user, private_documents):
    factories.AgreementFactory(title="Protocole d'accord Visa – paiements digitaux")
    factories.CommitmentFactory(description="Financement du protocole pilote")
    services.document_create(
        by=staff_user,
        file=ContentFile(PDF, name="protocole-signe.pdf"),
        title="Scan signé",
        organization=factories.OrganizationFactory(),
    )
    client.force_login(staff_user)

    response = client.get("/search/", {"q": "protocole"})

    results = response.context["results"]
    assert [a.title for a in results["agreements"]] == [
        "Protocole d'accord Visa – paiements digitaux"
    ]
    assert [c.description for c in results["commitments"]] == ["Financement du protocole pilote"]
    assert [d.title for d in results["documents"]] == ["Scan signé"]
    assert "Scan signé" in response.content.decode()


def test_read_only_does_not_find_a_mail_s_attachments(
    client, reader, staff_user, private_documents
):
    mail_world()
    services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload")
    client.force_login(staff_user)
    assert found(client, "pdf", "documents")
    client.force_login(reader)

    assert found(client, "pdf", "documents") == []
