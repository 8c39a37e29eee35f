"""Forms of the directory: organisations, people and the roles they hold (affiliations)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.base import VersionedAdminForm, VersionedModelForm, check_span
from crm.forms.choosers import ChooserField, use_chooser
from crm.forms.widgets import DateInput
from crm.mail.domains import normalize_email_domains
from crm.models import Affiliation, Organization, Person
from crm.slugs import unique_slug

# The admin.


class OrganizationAdminForm(VersionedAdminForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "short_name",
            "slug",
            "kind",
            "country",
            "country_inferred",
            "city",
            "website",
            "email_domains",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
            "source",
        ]

    def clean_email_domains(self) -> str:
        return normalize_email_domains(self.cleaned_data["email_domains"])

    def clean(self):
        cleaned_data = super().clean()
        note = (cleaned_data.get("verification_note") or "").strip()
        if cleaned_data.get("needs_verification") and not note:
            self.add_error("verification_note", _("Say what needs to be checked."))
        return cleaned_data


class AffiliationAdminForm(VersionedAdminForm):
    class Meta:
        model = Affiliation
        fields = ["person", "organization", "title", "start_on", "end_on", "is_primary", "source"]

    def clean(self):
        cleaned_data = super().clean()
        check_span(self, "start_on", "end_on")
        return cleaned_data


class AffiliationInlineFormSet(forms.BaseInlineFormSet):
    """Catch clashes between rows of one submission.

    The database allows one active affiliation per (person, organisation, title)
    and one active primary affiliation per person. Each row is checked against the
    database by model validation, but two new rows that clash with each other are
    only caught here (otherwise the second insert fails with an IntegrityError).
    """

    def clean(self):
        super().clean()
        active_roles = set()
        primary_people = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            data = form.cleaned_data
            if data.get("end_on"):
                continue
            if data.get("person") is None or data.get("organization") is None:
                continue  # The row has its own error already.
            person = _ref(data["person"])
            role = (person, _ref(data["organization"]), data.get("title"))
            if role in active_roles:
                form.add_error("title", _("This person already holds this role here."))
            active_roles.add(role)
            if data.get("is_primary"):
                if person in primary_people:
                    form.add_error(
                        "is_primary", _("A person has only one primary affiliation at a time.")
                    )
                primary_people.add(person)


def _ref(obj) -> object:
    """Return a hashable reference to a model instance, saved or not."""
    return obj.pk if obj.pk is not None else id(obj)


# Adding and correcting the directory from the staff pages.


class OrganizationForm(VersionedModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "short_name",
            "kind",
            "country",
            "country_inferred",
            "city",
            "website",
            "email_domains",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "verification_note": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_email_domains(self) -> str:
        return normalize_email_domains(self.cleaned_data["email_domains"])

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isalpha()):
            raise forms.ValidationError(_("Two letters, e.g. TG or US."))
        return country

    def clean(self):
        cleaned_data = super().clean()
        note = (cleaned_data.get("verification_note") or "").strip()
        if cleaned_data.get("needs_verification") and not note:
            self.add_error("verification_note", _("Say what needs to be checked."))
        return cleaned_data

    def save_by(self, *, by, reason: str = ""):
        if self.instance.pk is None:
            self.instance.slug = unique_slug(Organization, self.cleaned_data["name"])
        return super().save_by(by=by, reason=reason)


class PersonForm(VersionedModelForm):
    class Meta:
        model = Person
        fields = ["given_name", "family_name", "email", "phone", "preferred_language", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def save_by(self, *, by, reason: str = ""):
        if self.instance.pk is None:
            name = f"{self.cleaned_data['given_name']} {self.cleaned_data['family_name']}"
            self.instance.slug = unique_slug(Person, name)
        return super().save_by(by=by, reason=reason)


class AffiliationForm(VersionedModelForm):
    """A role a person holds in an organisation; ended by giving it an end date."""

    class Meta:
        model = Affiliation
        fields = ["person", "organization", "title", "start_on", "end_on", "is_primary"]
        widgets = {
            "start_on": DateInput,
            "end_on": DateInput,
        }

    def __init__(self, *args, fixed: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        use_chooser(self, "person", "people")
        use_chooser(self, "organization", "organizations")
        # The side the form was opened from is shown, not chosen again.
        for name, value in (fixed or {}).items():
            self.fields[name].initial = value
            self.fields[name].disabled = True
        if self.instance.pk is not None:
            self.fields["person"].disabled = True
            self.fields["organization"].disabled = True

    def clean(self):
        cleaned_data = super().clean()
        check_span(self, "start_on", "end_on")
        return cleaned_data


class NewPersonForm(forms.Form):
    """A person met for the first time, recorded with the meeting that introduced them.

    All blank: nobody new. The organisation is chosen among all of them (the
    meeting's own are the usual answer).
    """

    prefix = "new_person"

    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    organization = ChooserField("organizations", label=_("Organisation"), required=False)
    title = forms.CharField(label=_("Title or role"), max_length=200, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)

    def is_blank(self) -> bool:
        return not any(
            (self.cleaned_data.get(name) or "")
            for name in ("given_name", "family_name", "title", "email")
        )

    def clean(self):
        cleaned_data = super().clean()
        if self.is_blank():
            return cleaned_data
        if not cleaned_data.get("family_name"):
            self.add_error("family_name", _("Give at least the family name."))
        if cleaned_data.get("title") and not cleaned_data.get("organization"):
            self.add_error("organization", _("Say where this person holds this role."))
        if cleaned_data.get("organization") and not cleaned_data.get("title"):
            self.add_error("title", _("Give the person's title or role there."))
        return cleaned_data
