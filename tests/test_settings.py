"""Settings come from the environment and fail loudly on bad values."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_int, env_list, env_networks, env_str


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_env_bool_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG='ture' is not a boolean"):
        env_bool("DJANGO_DEBUG")


def test_env_int_refuses_words(monkeypatch):
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "sixty")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_CONN_MAX_AGE"):
        env_int("DATABASE_CONN_MAX_AGE", default=60)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "crm.example.org, ,127.0.0.1")
    assert env_list("DJANGO_ALLOWED_HOSTS") == ["crm.example.org", "127.0.0.1"]


def test_env_str_names_a_missing_variable(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="NOT_SET_ANYWHERE"):
        env_str("NOT_SET_ANYWHERE")


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    # A fresh interpreter: settings are read once per process.
    code = "import crm.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_debug_is_off_and_a_secret_key_required_by_default():
    result = _load_settings({"PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_default_database_is_an_sqlite_file_with_debug_off():
    result = _load_settings({"DJANGO_SECRET_KEY": "x"})
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_database_url_selects_postgresql():
    result = _load_settings(
        {"DJANGO_SECRET_KEY": "x", "DATABASE_URL": "postgres://u@db.example:5432/crm"}
    )
    assert result.stdout.split() == ["False", "django.db.backends.postgresql"]


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


@pytest.mark.django_db
def test_postgresql_connections_never_compile_queries_to_machine_code(postgres_only):
    # JIT compiling took 0.9 s of a 10 ms query on the dashboard at a million
    # follow-ups (docs/benchmarks.md).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_language_and_time_zone(settings):
    assert settings.LANGUAGE_CODE == "fr"
    assert [code for code, _ in settings.LANGUAGES] == ["fr", "en"]
    assert settings.TIME_ZONE == "Africa/Lome"
    assert settings.USE_TZ


def _email_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import crm.settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.CRM_BASE_URL)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_email_goes_to_the_console_in_debug_and_to_smtp_otherwise():
    debug = _email_settings({"DJANGO_DEBUG": "1"}).stdout.split()
    production = _email_settings({"DJANGO_SECRET_KEY": "x"}).stdout.split()

    assert debug[0] == "django.core.mail.backends.console.EmailBackend"
    assert production[0] == "django.core.mail.backends.smtp.EmailBackend"


def test_smtp_and_links_come_from_the_environment():
    result = _email_settings(
        {
            "DJANGO_SECRET_KEY": "x",
            "EMAIL_HOST": "smtp.example.org",
            "EMAIL_PORT": "587",
            "EMAIL_USE_TLS": "yes",
            "CRM_BASE_URL": "https://crm.example.org/",
        }
    )

    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.org",
        "587",
        "True",
        "https://crm.example.org",
    ]


def test_tls_and_ssl_together_are_refused():
    result = _email_settings(
        {"DJANGO_SECRET_KEY": "x", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}
    )

    assert result.returncode != 0
    assert "EMAIL_USE_TLS or EMAIL_USE_SSL, not both" in result.stderr


def test_behind_a_tls_proxy_the_forwarded_scheme_is_trusted():
    code = "import crm.settings as s; print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    env = {
        "DJANGO_SECRET_KEY": "x",
        "DJANGO_BEHIND_TLS_PROXY": "1",
        "CRM_TRUSTED_PROXIES": "10.0.0.5",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"
    assert "None" in _load_settings_attr("SECURE_PROXY_SSL_HEADER")


def _load_settings_attr(name: str) -> str:
    code = f"import crm.settings as s; print(getattr(s, {name!r}, None))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def test_trusted_proxies_are_addresses_and_networks(monkeypatch):
    monkeypatch.setenv("CRM_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,2001:db8::/32")

    assert [str(network) for network in env_networks("CRM_TRUSTED_PROXIES")] == [
        "10.0.0.5/32",
        "10.1.0.0/16",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize("raw", ["lb.example.org", "10.0.0.1/24", "10.0.0.256", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_no_address_is_refused(monkeypatch, raw):
    monkeypatch.setenv("CRM_TRUSTED_PROXIES", f"10.0.0.5,{raw}")

    with pytest.raises(ImproperlyConfigured, match="CRM_TRUSTED_PROXIES"):
        env_networks("CRM_TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # Trusting nobody, the TLS proxy's header would never be believed.
        ({"DJANGO_BEHIND_TLS_PROXY": "1"}, "DJANGO_BEHIND_TLS_PROXY needs CRM_TRUSTED_PROXIES"),
        ({"CRM_TRUSTED_PROXY_COUNT": "1"}, "CRM_TRUSTED_PROXY_COUNT is replaced"),
        ({"CRM_TRUSTED_PROXIES": "proxy"}, "CRM_TRUSTED_PROXIES: 'proxy'"),
        ({"CRM_LOGIN_ADDRESS_FAILURE_LIMIT": "3"}, "CRM_LOGIN_ADDRESS_FAILURE_LIMIT"),
    ],
)
def test_proxy_and_lockout_settings_fail_loudly(env, message):
    result = _load_settings({"DJANGO_SECRET_KEY": "x", **env})

    assert result.returncode != 0
    assert message in result.stderr
