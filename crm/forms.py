"""Forms: the admin's model forms, its action pages' forms, and the staff pages' forms.

Rules that the database enforces with a CheckConstraint are repeated here as
field errors, so that a user who breaks one reads what to fix next to the field
instead of a generic "constraint violated" message (or worse, a server error).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.models import (
    Affiliation,
    DatePrecision,
    FollowUp,
    FollowUpPlan,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
)
from crm.roles import staff_members
from crm.slugs import unique_slug
from crm.versions import StaleVersion, version_of


def _check_span(form: forms.Form, start: str, end: str) -> None:
    """Add an error on ``end`` when it falls before ``start``."""
    start_on = form.cleaned_data.get(start)
    end_on = form.cleaned_data.get(end)
    if start_on and end_on and end_on < start_on:
        form.add_error(end, _("The end cannot come before the start."))


class VersionedModelForm(forms.ModelForm):
    """A model form that carries the version it was opened on and saves only what it changed.

    Saving goes through ``crm.services.record_update``: a form opened on a
    version that someone has since replaced raises ``StaleVersion`` instead of
    writing the old values back over the new ones. Fields that carry a
    workflow's state (``crm.services.STATE_FIELDS``) are never saved here: a
    form shows them read-only and the services change them.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    # Set by forms whose whole request runs in one transaction (the admin's):
    # the version is then checked while validating, under the row lock that
    # the save keeps using, so that a stale copy is a form error.
    lock_on_clean = False
    # Where the reader reloads the record (the link in the stale message).
    reload_url = ""

    # The version the form shows, when its instance is not the current record
    # (the admin's history page fills the form from an old version, and its
    # unchanged fields are what is to be written back).
    opened_on = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = None
        if self.instance.pk is not None:
            self.fields["version"].initial = self.opened_on or version_of(self.instance)

    def clean(self):
        cleaned_data = super().clean()
        version = cleaned_data.get("version")
        if self.instance.pk is not None and not version:
            # A form posted without its version may be a copy of any age. Said
            # above the fields: the version's own field is hidden.
            raise forms.ValidationError(
                _("The form lost track of its version: reload the page."), code="no_version"
            )
        # An unchanged form (an inline row left alone) writes nothing: no lock.
        # A stale one has changed: its version differs from the record's.
        changed = self.has_changed() or bool(self.opened_on)
        if self.lock_on_clean and self.instance.pk is not None and version and changed:
            try:
                self.locked = services.lock_for_update(self.instance, version=version)
            except StaleVersion as stale:
                raise forms.ValidationError(
                    stale.message(reload_url=self.reload_url or self.instance_url()),
                    code="stale",
                ) from None
        return cleaned_data

    def instance_url(self) -> str:
        get_url = getattr(self.instance, "get_absolute_url", None)
        return get_url() if get_url else ""

    def edited_fields(self) -> list[str]:
        """Name the model fields this form may write (not its state fields)."""
        model = self._meta.model
        state = services.STATE_FIELDS.get(model, frozenset())
        concrete = {field.name for field in model._meta.concrete_fields if not field.primary_key}
        return [
            name
            for name in self.fields
            if name in concrete and name not in state and not self.fields[name].disabled
        ]

    def save_by(self, *, by, reason: str = ""):
        """Create the record, or save only the fields this form changed; return it."""
        if self.instance.pk is None:
            instance = self.save(commit=False)
            services.record_create(instance=instance, by=by, reason=reason)
            self.save_m2m()
            return instance
        instance = self.save_changes(by=by, reason=reason)
        many = {field.name for field in self._meta.model._meta.many_to_many}
        for name in self.fields:
            if name in many and not self.fields[name].disabled:
                getattr(instance, name).set(self.cleaned_data[name])
        return instance

    def save_changes(self, *, by, reason: str = ""):
        """Write the fields of an existing record that differ from it; return the record.

        Every field of the form is compared with the row read under lock, and
        only those that differ are written: on the version the form was opened
        on, that is exactly what the user changed. Many-to-many fields are the
        caller's (``save_by`` sets them, the admin's ``save_related`` too).
        """
        if self.locked is None and not self.has_changed():
            return self.instance
        return services.record_update(
            instance=self.locked or self.instance,
            changes={name: self.cleaned_data[name] for name in self.edited_fields()},
            by=by,
            version=None if self.locked else self.cleaned_data["version"],
            reason=reason,
            locked=self.locked is not None,
        )


class VersionedAdminForm(VersionedModelForm):
    """The admin's change forms and inline rows: the version is checked while validating.

    The admin validates and saves in one transaction, so the row locked here
    stays locked until the save.
    """

    lock_on_clean = True


class OrganizationAdminForm(VersionedAdminForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "short_name",
            "slug",
            "kind",
            "country",
            "city",
            "website",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
            "source",
        ]

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
        _check_span(self, "start_on", "end_on")
        return cleaned_data


class MissionAdminForm(forms.ModelForm):
    class Meta:
        model = Mission
        fields = [
            "title",
            "slug",
            "start_on",
            "end_on",
            "date_precision",
            "organizer",
            "cities",
            "objectives",
            "description",
            "source",
        ]

    def clean(self):
        cleaned_data = super().clean()
        _check_span(self, "start_on", "end_on")
        return cleaned_data


class FollowUpAdminForm(VersionedAdminForm):
    """The follow-up form. On a new follow-up it sets the status, assignee and due
    date (marked done through follow_up_complete); on an existing one the admin
    shows them read-only and its actions change them."""

    class Meta:
        model = FollowUp
        fields = [
            "title",
            "description",
            "project",
            "organization",
            "person",
            "interaction",
            "assignee",
            "due_on",
            "status",
            "priority",
            "completion_note",
        ]

    def clean(self):
        cleaned_data = super().clean()
        note = (cleaned_data.get("completion_note") or "").strip()
        if cleaned_data.get("status") == FollowUp.Status.DONE and not note:
            self.add_error(
                "completion_note", _("Say what was done before marking the follow-up done.")
            )
        return cleaned_data


class PartnershipAdminForm(VersionedAdminForm):
    """A partnership; a new one waits for any other being added for its organisation."""

    class Meta:
        model = Partnership
        fields = [
            "organization",
            "project",
            "role",
            "stage",
            "owner",
            "contact_cadence_days",
            "notes",
            "source",
        ]

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is None and cleaned_data.get("organization") is not None:
            # Before the uniqueness check of (organisation, project), which
            # then sees a partnership that a colleague has just added: two
            # coordinators adding the same pair get one record and one error.
            services.lock_partnerships_of(cleaned_data["organization"])
        return cleaned_data


class PartnershipInlineForm(PartnershipAdminForm):
    """A partnership row: stage and owner are chosen when adding, then changed by the actions."""

    class Meta:
        model = Partnership
        fields = ["organization", "project", "role", "stage", "owner", "contact_cadence_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # A disabled field ignores what is posted: the stage and owner of
            # an existing partnership change only through the actions, which
            # record the move and tell the new owner.
            for name in ("stage", "owner"):
                if name in self.fields:
                    self.fields[name].disabled = True


class FollowUpInlineForm(VersionedAdminForm):
    """A follow-up row of an interaction: assignee and due date are set when adding only."""

    class Meta:
        model = FollowUp
        fields = ["title", "project", "organization", "assignee", "due_on", "priority"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in ("assignee", "due_on"):
                if name in self.fields:
                    self.fields[name].disabled = True


# Intermediate pages of the admin actions.


class CompleteFollowUpsForm(forms.Form):
    completion_note = forms.CharField(
        label=_("What was done"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Recorded on every selected follow-up."),
    )

    def clean_completion_note(self) -> str:
        # CharField strips whitespace already; this only keeps the rule explicit.
        return self.cleaned_data["completion_note"].strip()


class ReassignFollowUpsForm(forms.Form):
    # staff_members() is lazy: the queryset is evaluated per form, not at import.
    assignee = forms.ModelChoiceField(label=_("New assignee"), queryset=staff_members())


class ReasonForm(forms.Form):
    """The reason of a state change, kept in the record's history."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=services.REASON_MAX_LENGTH,
        help_text=_("Kept in the history, with your name and the time."),
    )


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("New owner"),
        queryset=staff_members(),
        required=False,
        help_text=_("Leave empty for nobody. The new owner is told by e-mail."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=services.REASON_MAX_LENGTH, required=False
    )


class ChangeStageForm(forms.Form):
    stage = forms.ChoiceField(label=_("New stage"), choices=Partnership.Stage.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Why the partnership moves; recorded with each stage change."),
    )


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


# Staff pages.


class DateInput(forms.DateInput):
    """A native date picker; browsers send ISO dates, which every locale parses."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


# What crm/static/crm/chooser.js reads: its wording, translated here.
CHOOSER_ATTRS = {
    "data-chooser": "",
    "data-filter-placeholder": _("Type to filter…"),
    "data-filter-label": _("Filter the list:"),
    "data-remove-label": _("Remove"),
}


class SearchableSelectMultiple(forms.SelectMultiple):
    """A list box that works without JavaScript; crm/static/crm/chooser.js adds a filter box.

    Without the script it is a plain multiple select (Ctrl/Cmd-click on a
    computer, a native picker on a phone); with it, a text box filters the
    options as one types (accents and case ignored) and the chosen ones are
    listed above, each with a button to remove it.
    """

    class Media:
        js = [forms.widgets.Script("crm/chooser.js", defer=True)]

    def __init__(self, attrs=None):
        super().__init__({**CHOOSER_ATTRS, "size": 8, **(attrs or {})})


class SearchableSelect(forms.Select):
    """A single choice with the same filter box as ``SearchableSelectMultiple``."""

    class Media:
        js = [forms.widgets.Script("crm/chooser.js", defer=True)]

    def __init__(self, attrs=None):
        super().__init__({**CHOOSER_ATTRS, **(attrs or {})})


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class FollowUpDoneForm(forms.Form):
    completion_note = forms.CharField(
        label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2})
    )


class VersionedActionForm(forms.Form):
    """A staff page's action on a follow-up, carrying the version it was shown.

    The service refuses it (``StaleVersion``) when someone changed the
    follow-up since: a snooze or reassignment decided on an old state of the
    work must not silently override a newer one.
    """

    version = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("The form lost track of its version: reload the page."),
        },
    )


class SnoozeForm(forms.Form):
    due_on = forms.DateField(label=_("New due date"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=services.REASON_MAX_LENGTH)


class FollowUpSnoozeForm(SnoozeForm, VersionedActionForm):
    pass


class FollowUpReassignForm(VersionedActionForm):
    assignee = StaffChoiceField(label=_("New assignee"), queryset=staff_members())


class FollowUpWaitingForm(VersionedActionForm):
    pass


class PartnershipStageForm(ChangeStageForm, VersionedActionForm):
    """The pipeline's move: refused when the partnership changed since the page showed it."""


class FollowUpForm(forms.ModelForm):
    """A new follow-up; saved by ``crm.services.follow_up_create``."""

    class Meta:
        model = FollowUp
        fields = [
            "title",
            "project",
            "organization",
            "person",
            "interaction",
            "assignee",
            "due_on",
            "priority",
            "description",
        ]
        widgets = {
            "due_on": DateInput,
            "organization": SearchableSelect,
            "person": SearchableSelect,
            "interaction": forms.HiddenInput,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = StaffChoiceField(
            label=_("Assignee"), queryset=staff_members(), required=False
        )
        self.fields["project"].queryset = Project.objects.order_by("name")
        self.fields["person"].queryset = Person.objects.order_by("family_name", "given_name")


class FollowUpEditForm(VersionedModelForm):
    """A follow-up's own facts; its status, assignee and due date move by their actions."""

    class Meta:
        model = FollowUp
        fields = ["title", "description", "priority", "project", "organization", "person"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.order_by("name")
        self.fields["person"].queryset = Person.objects.order_by("family_name", "given_name")


class InteractionForm(forms.Form):
    """An interaction; saved with its follow-ups by ``crm.services.interaction_log``."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=300)
    occurred_on = forms.DateField(label=_("Date"), widget=DateInput)
    date_precision = forms.ChoiceField(
        label=_("Precision of the date"),
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    mission = forms.ModelChoiceField(
        label=_("Mission"), queryset=Mission.objects.all(), required=False
    )
    # Lists that grow with the directory: a list box with a filter box
    # (SearchableSelectMultiple), not a wall of checkboxes.
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organisations"),
        queryset=Organization.objects.order_by("name"),
        widget=SearchableSelectMultiple,
    )
    people = forms.ModelMultipleChoiceField(
        label=_("People met"),
        queryset=Person.objects.order_by("family_name", "given_name"),
        widget=SearchableSelectMultiple,
        required=False,
        help_text=_("Someone met for the first time: add them below."),
    )
    staff = StaffMultipleChoiceField(
        label=_("Staff present"),
        queryset=staff_members(),
        widget=SearchableSelectMultiple,
        required=False,
    )
    projects = forms.ModelMultipleChoiceField(
        label=_("Projects discussed"),
        queryset=Project.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    summary = forms.CharField(
        label=_("Summary"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    outcome = forms.CharField(
        label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class FollowUpRowForm(forms.Form):
    """One follow-up opened by the interaction being logged. Blank rows are skipped."""

    title = forms.CharField(label=_("Follow-up"), max_length=300)
    project = forms.ModelChoiceField(label=_("Project"), queryset=Project.objects.all())
    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.all(), required=False
    )
    assignee = StaffChoiceField(label=_("Assignee"), queryset=staff_members())
    due_on = forms.DateField(label=_("Due date"), widget=DateInput)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=FollowUp.Priority.choices, initial=FollowUp.Priority.NORMAL
    )


FollowUpRowFormSet = forms.formset_factory(FollowUpRowForm, extra=2)


class ApplyPlanForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=FollowUpPlan.objects.filter(is_active=True)
    )
    project = forms.ModelChoiceField(label=_("Project"), queryset=Project.objects.all())
    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.all(), required=False
    )
    assignee = StaffChoiceField(label=_("Assignee"), queryset=staff_members())

    def __init__(self, *args, interaction: Interaction, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = interaction.projects.all()
        self.fields["organization"].queryset = interaction.organizations.all()


# Adding and correcting the directory from the staff pages.


class OrganizationForm(VersionedModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "short_name",
            "kind",
            "country",
            "city",
            "website",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "verification_note": forms.Textarea(attrs={"rows": 2}),
        }

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
            "person": SearchableSelect,
            "organization": SearchableSelect,
            "start_on": DateInput,
            "end_on": DateInput,
        }

    def __init__(self, *args, fixed: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.order_by("family_name", "given_name")
        self.fields["organization"].queryset = Organization.objects.order_by("name")
        # The side the form was opened from is shown, not chosen again.
        for name, value in (fixed or {}).items():
            self.fields[name].initial = value
            self.fields[name].disabled = True
        if self.instance.pk is not None:
            self.fields["person"].disabled = True
            self.fields["organization"].disabled = True

    def clean(self):
        cleaned_data = super().clean()
        _check_span(self, "start_on", "end_on")
        return cleaned_data


class NewPersonForm(forms.Form):
    """A person met for the first time, recorded with the meeting that introduced them.

    All blank: nobody new. The organisation is chosen among all of them (the
    meeting's own are the usual answer).
    """

    prefix = "new_person"

    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    organization = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        widget=SearchableSelect,
    )
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


class PartnershipForm(forms.ModelForm):
    """A new partnership of an organisation; saved by ``crm.services.partnership_create``."""

    class Meta:
        model = Partnership
        fields = ["project", "role", "stage", "owner", "contact_cadence_days", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organization = organization
        self.fields["project"].queryset = Project.objects.exclude(
            partnerships__organization=organization
        ).order_by("name")
        # Every partnership has an owner: the colleague whose dashboard and
        # digest tell when it goes quiet.
        self.fields["owner"] = StaffChoiceField(
            label=_("Owner"),
            queryset=staff_members(),
            help_text=_("Told by the dashboard and the morning digest when it goes quiet."),
        )
