"""Every user-visible string has its French translation, and the compiled
catalogue that ships in git is the one the translations describe."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "crm" / "locale" / "fr" / "LC_MESSAGES"
PO = LOCALE / "django.po"
MO = LOCALE / "django.mo"


def test_french_catalogue_has_no_untranslated_or_fuzzy_message():
    catalogue = polib.pofile(str(PO))

    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]

    assert missing == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_translations():
    source = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(PO)).translated_entries()}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(MO))}

    assert compiled == source


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext (xgettext)")
def test_catalogue_holds_every_string_marked_in_the_code(tmp_path):
    # makemessages writes in place, so run it on a copy of the code.
    for folder in ("crm", "templates"):
        shutil.copytree(Path(settings.BASE_DIR) / folder, tmp_path / folder)
    shutil.copy(Path(settings.BASE_DIR) / "manage.py", tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "-v0"],
        cwd=tmp_path,
        check=True,
        env={"DJANGO_SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
    )
    fresh = polib.pofile(str(tmp_path / "crm/locale/fr/LC_MESSAGES/django.po"))
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete}

    missing = sorted(e.msgid for e in fresh if (e.msgctxt, e.msgid) not in committed)
    assert missing == []
