"""The shared mailbox's settings, read from the environment (crm/settings.py)."""

import json
import subprocess
import sys

NAMES = [
    "CRM_MAIL_IMAP_HOST",
    "CRM_MAIL_IMAP_PORT",
    "CRM_MAIL_IMAP_SECURITY",
    "CRM_MAIL_IMAP_USER",
    "CRM_MAIL_IMAP_PASSWORD",
    "CRM_MAIL_IMAP_FOLDER",
    "CRM_MAIL_IMAP_PROCESSED_FOLDER",
    "CRM_MAIL_IMAP_REFUSED_FOLDER",
    "CRM_MAIL_IMAP_CAFILE",
    "CRM_MAIL_IMAP_TIMEOUT",
    "CRM_MAIL_MAX_BYTES",
]


def _mail_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import json, crm.settings as s; "
        f"print(json.dumps({{name: getattr(s, name) for name in {NAMES!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_by_default_the_door_is_off_and_the_folders_are_french():
    result = _mail_settings({})

    assert json.loads(result.stdout) == {
        "CRM_MAIL_IMAP_HOST": "",
        "CRM_MAIL_IMAP_PORT": 993,
        "CRM_MAIL_IMAP_SECURITY": "tls",
        "CRM_MAIL_IMAP_USER": "",
        "CRM_MAIL_IMAP_PASSWORD": "",
        "CRM_MAIL_IMAP_FOLDER": "INBOX",
        "CRM_MAIL_IMAP_PROCESSED_FOLDER": "Traités",
        "CRM_MAIL_IMAP_REFUSED_FOLDER": "Refusés",
        "CRM_MAIL_IMAP_CAFILE": "",
        "CRM_MAIL_IMAP_TIMEOUT": 60,
        "CRM_MAIL_MAX_BYTES": 25 * 1024 * 1024,
    }


def test_the_mailbox_comes_from_the_environment_and_starttls_defaults_to_port_143():
    result = _mail_settings(
        {
            "CRM_MAIL_IMAP_HOST": "imap.example.org",
            "CRM_MAIL_IMAP_SECURITY": "STARTTLS",
            "CRM_MAIL_IMAP_USER": "partenariats@example.org",
            "CRM_MAIL_IMAP_PASSWORD": "s3cret",
            "CRM_MAIL_IMAP_PROCESSED_FOLDER": "CRM/Traités",
            "CRM_MAIL_IMAP_CAFILE": "/etc/crm/imap-ca.pem",
            "CRM_MAIL_MAX_BYTES": "1000000",
        }
    )

    values = json.loads(result.stdout)
    assert values["CRM_MAIL_IMAP_HOST"] == "imap.example.org"
    assert values["CRM_MAIL_IMAP_SECURITY"] == "starttls"
    assert values["CRM_MAIL_IMAP_PORT"] == 143
    assert values["CRM_MAIL_IMAP_PROCESSED_FOLDER"] == "CRM/Traités"
    assert values["CRM_MAIL_IMAP_CAFILE"] == "/etc/crm/imap-ca.pem"
    assert values["CRM_MAIL_MAX_BYTES"] == 1_000_000


def test_an_unknown_security_is_refused_by_name():
    result = _mail_settings({"CRM_MAIL_IMAP_SECURITY": "none"})

    assert result.returncode != 0
    assert "CRM_MAIL_IMAP_SECURITY='none': use tls or starttls." in result.stderr


def test_a_size_that_is_not_a_number_is_refused_by_name():
    result = _mail_settings({"CRM_MAIL_MAX_BYTES": "25MB"})

    assert result.returncode != 0
    assert "CRM_MAIL_MAX_BYTES='25MB' is not a whole number." in result.stderr
