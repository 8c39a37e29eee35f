"""The staff page's import form: which kind of records, and the file."""

from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.importing.jobs import SUFFIXES
from crm.models import ImportJob

# Who may import a kind: who may add and change its records (as in the admin).
PERMISSIONS = {
    ImportJob.Kind.ORGANIZATIONS: ("crm.add_organization", "crm.change_organization"),
    ImportJob.Kind.PEOPLE: ("crm.add_person", "crm.change_person"),
}


def importable_kinds(user) -> list[str]:
    """The kinds of file ``user`` may import (none: the page is refused)."""
    return [kind for kind, perms in PERMISSIONS.items() if user.has_perms(perms)]


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), widget=forms.RadioSelect)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8) or XLSX; row 1 names the columns."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kinds = importable_kinds(user)
        self.fields["kind"].choices = [
            (value, label) for value, label in ImportJob.Kind.choices if value in kinds
        ]
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name or "").suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(_("Import a .csv or .xlsx file."))
        return upload
