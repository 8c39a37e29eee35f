"""load_demo adds marked demonstration data; setup_local prepares a local database."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from crm import roles
from crm.models import FollowUp, Organization, Source
from tests.factories import UserFactory

FIXTURE = settings.BASE_DIR / "fixtures" / "compact_togo_2023.json"
DEMO_NOTICE = "Donnée de démonstration — ne décrit aucun engagement réel."
DEMO_USERNAMES = {"demo-coordination", "demo-staff", "demo-lecture"}


@pytest.fixture
def facts(db) -> None:
    call_command("loaddata", str(FIXTURE), verbosity=0)


@pytest.fixture
def admin_env(monkeypatch) -> str:
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-local-test-password-1")
    return "a-local-test-password-1"


def _run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    counts = {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("crm").models.values()
    }
    counts["User"] = get_user_model().objects.count()
    return counts


def test_load_demo_creates_overdue_this_week_waiting_and_done_follow_ups(facts, today):
    _run("load_demo", today=today)

    follow_ups = FollowUp.objects.all()
    assert FollowUp.objects.overdue(today=today).exists()
    assert FollowUp.objects.due_soon(today=today).exists()
    assert FollowUp.objects.open().filter(due_on__gt=today + timedelta(days=7)).exists()
    assert follow_ups.filter(status=FollowUp.Status.WAITING).exists()
    done = follow_ups.filter(status=FollowUp.Status.DONE)
    assert done.exists()
    assert all(f.completion_note and f.completed_at and f.completed_by for f in done)
    assert set(follow_ups.values_list("project__code", flat=True)) == {
        "connectivite",
        "hub-innovation-digital",
        "paiements-digitaux",
    }


def test_every_demo_follow_up_is_marked_as_demonstration_data(facts, today):
    _run("load_demo", today=today)

    assert FollowUp.objects.exists()
    for follow_up in FollowUp.objects.all():
        assert follow_up.title.startswith("[Démo] ")
        assert DEMO_NOTICE in follow_up.description


def test_demo_users_have_their_role_and_no_usable_password(facts, today):
    out = _run("load_demo", today=today)

    users = get_user_model().objects.filter(username__in=DEMO_USERNAMES)
    assert {(u.username, u.groups.get().name) for u in users} == {
        ("demo-coordination", roles.COORDINATION),
        ("demo-staff", roles.STAFF),
        ("demo-lecture", roles.READ_ONLY),
    }
    assert all(u.is_staff and not u.has_usable_password() for u in users)
    assert "changepassword" in out


def test_demo_follow_ups_go_to_demo_users_and_the_first_superuser(facts, today):
    admin = UserFactory(username="boss", is_superuser=True)

    _run("load_demo", today=today)

    assignees = set(FollowUp.objects.values_list("assignee__username", flat=True))
    assert assignees == {"boss", "demo-coordination", "demo-staff"}
    assert FollowUp.objects.filter(assignee=admin).exists()


def test_demo_follow_ups_go_to_the_user_named_by_assignee(facts, today):
    UserFactory(username="boss", is_superuser=True)
    UserFactory(username="amina")

    _run("load_demo", today=today, assignee="amina")

    assignees = set(FollowUp.objects.values_list("assignee__username", flat=True))
    assert assignees == {"amina", "demo-coordination", "demo-staff"}


def test_load_demo_refuses_an_unknown_assignee(facts, today):
    with pytest.raises(CommandError, match="nobody"):
        _run("load_demo", today=today, assignee="nobody")
    assert not FollowUp.objects.exists()


def test_running_load_demo_twice_creates_nothing_new(facts, today):
    _run("load_demo", today=today)
    before = _counts()

    out = _run("load_demo", today=today + timedelta(days=3))

    assert _counts() == before
    assert "0 created" in out


def test_load_demo_refuses_clearly_without_the_source_facts(db, today):
    with pytest.raises(CommandError, match="paiements-digitaux") as error:
        _run("load_demo", today=today)

    assert "setup_local" in str(error.value)
    assert not FollowUp.objects.exists()
    assert not get_user_model().objects.filter(username__in=DEMO_USERNAMES).exists()


def test_setup_local_loads_facts_and_demo_and_creates_the_admin(db, admin_env):
    out = _run("setup_local")

    assert Source.objects.filter(slug="communique-compact-togo-2023-10").exists()
    assert Organization.objects.count() == 12
    assert FollowUp.objects.exists()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(admin_env)
    assert admin.groups.filter(name=roles.COORDINATION).exists()
    assert admin_env not in out


def test_setup_local_gives_demo_follow_ups_to_an_admin_with_an_email(db, admin_env, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "coordination@example.org")

    _run("setup_local")

    admin = get_user_model().objects.get(username="admin")
    assert FollowUp.objects.filter(assignee=admin, is_demo=True).exists()


def test_setup_local_gives_no_follow_up_to_an_admin_no_digest_could_reach(db, admin_env):
    _run("setup_local")

    admin = get_user_model().objects.get(username="admin")
    assert admin.email == ""
    assert not FollowUp.objects.filter(assignee=admin).exists()
    coordinator = get_user_model().objects.get(username="demo-coordination")
    assert FollowUp.objects.filter(assignee=coordinator).count() > 1


def test_setup_local_takes_the_admin_username_from_the_environment(db, admin_env, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "coordonnateur")

    _run("setup_local", no_demo=True)

    assert get_user_model().objects.get(is_superuser=True).username == "coordonnateur"


def test_setup_local_prints_a_generated_password_once(db, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)

    out = _run("setup_local", no_demo=True)

    match = re.search(r"Admin account: admin / (\S+) — shown once", out)
    assert match, out
    assert get_user_model().objects.get(username="admin").check_password(match[1])
    second = _run("setup_local", no_demo=True)
    assert match[1] not in second
    assert "already exists" in second


def test_setup_local_without_demo_loads_only_the_facts(db, admin_env):
    _run("setup_local", no_demo=True)

    assert Organization.objects.count() == 12
    assert not FollowUp.objects.exists()
    assert not get_user_model().objects.filter(username__in=DEMO_USERNAMES).exists()


def test_running_setup_local_again_changes_nothing_and_keeps_edits(db, admin_env):
    _run("setup_local")
    mastercard = Organization.objects.get(slug="mastercard")
    mastercard.name = "Mastercard (edited by staff)"
    mastercard.save()
    before = _counts()

    out = _run("setup_local")

    assert _counts() == before
    mastercard.refresh_from_db()
    assert mastercard.name == "Mastercard (edited by staff)"
    assert "already loaded" in out
    assert "already exists" in out


def test_setup_local_refuses_to_promote_an_existing_non_superuser(db, admin_env):
    UserFactory(username="admin")

    with pytest.raises(CommandError, match="not a superuser"):
        _run("setup_local", no_demo=True)

    assert not get_user_model().objects.filter(is_superuser=True).exists()
