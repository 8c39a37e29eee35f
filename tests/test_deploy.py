"""A production deployment that passes Django's own checks; /healthz (issue 9, item 5)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.test import Client

from crm.env import env_rate

ROOT = Path(__file__).resolve().parent.parent

# The README's "Production" variables (with a throwaway secret key).
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x7Qp-" + "k2Vw9Lm4Zr8Tn1Bc6Hy3Jd5Fs0Ga" * 2,
    "DJANGO_ALLOWED_HOSTS": "crm.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://crm.example.org",
    "DJANGO_BEHIND_TLS_PROXY": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_COOKIES": "1",
    "CRM_TRUSTED_PROXIES": "10.0.0.5",
}


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CRM_SESSION", "CRM_API", "CRM_LOGIN"))
    }
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_production_environment():
    result = check_deploy(PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_hsts_and_the_https_redirect():
    environment = dict(PRODUCTION)
    del environment["DJANGO_SECURE_HSTS_SECONDS"]
    del environment["DJANGO_SECURE_SSL_REDIRECT"]

    result = check_deploy(environment)

    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_the_readme_documents_every_production_variable():
    readme = (ROOT / "README.md").read_text()

    for name in PRODUCTION:
        assert f"`{name}`" in readme, name


def test_ci_runs_check_deploy_with_the_production_variables():
    ci = (ROOT / ".ci" / "run").read_text()

    assert "check --deploy --fail-level WARNING" in ci
    for name in PRODUCTION:
        assert name in ci, name


def test_a_malformed_rate_is_refused(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("CRM_API_RATE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match="CRM_API_RATE_USER"):
        env_rate("CRM_API_RATE_USER", default="2000/hour")
    monkeypatch.setenv("CRM_API_RATE_USER", "100/minute")
    assert env_rate("CRM_API_RATE_USER", default="2000/hour") == "100/minute"


def test_gunicorn_configuration_loads():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['timeout'], c['worker_class'])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["60", "sync"], result.stderr


# /healthz


@pytest.mark.django_db
def test_healthz_answers_ok_without_login():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_a_probe_by_ip_over_plain_http(settings):
    settings.ALLOWED_HOSTS = ["crm.example.org"]
    settings.SECURE_SSL_REDIRECT = True

    response = Client().get("/healthz", HTTP_HOST="10.0.0.5:8000")

    assert response.status_code == 200


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(monkeypatch):
    def unreachable(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("crm.security.connection.cursor", unreachable)

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert b"ok" not in response.content
