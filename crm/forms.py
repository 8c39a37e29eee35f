"""Forms: the admin's model forms, its action pages' forms, and the staff pages' forms.

Rules that the database enforces with a CheckConstraint are repeated here as
field errors, so that a user who breaks one reads what to fix next to the field
instead of a generic "constraint violated" message (or worse, a server error).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

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
from crm.versions import version_of


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
    writing the old values back over the new ones.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = version_of(self.instance)

    def clean_version(self) -> str:
        version = self.cleaned_data["version"]
        if self.instance.pk is not None and not version:
            # A form posted without its version may be a copy of any age.
            raise forms.ValidationError(_("The form lost track of its version: reload the page."))
        return version

    def save_by(self, *, by, reason: str = ""):
        """Create the record, or save only the fields this form changed; return it."""
        from crm import services

        model_fields = {field.name for field in self._meta.model._meta.get_fields()}
        if self.instance.pk is None:
            instance = self.save(commit=False)
            services.record_create(instance=instance, by=by, reason=reason)
            self.save_m2m()
            return instance
        changed = [name for name in self.changed_data if name in model_fields]
        many = {name for name in changed if self._meta.model._meta.get_field(name).many_to_many}
        instance = services.record_update(
            instance=self.instance,
            changes={name: self.cleaned_data[name] for name in changed if name not in many},
            by=by,
            version=self.cleaned_data["version"],
            reason=reason,
        )
        for name in many:
            getattr(instance, name).set(self.cleaned_data[name])
        return instance


class OrganizationAdminForm(forms.ModelForm):
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


class AffiliationAdminForm(forms.ModelForm):
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


class FollowUpAdminForm(forms.ModelForm):
    """The follow-up change form; marking done goes through follow_up_complete on save."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            # Posts back the status the user saw, to tell "mark done" from
            # "edit work that someone else closed meanwhile".
            self.fields["status"].show_hidden_initial = True

    def clean(self):
        cleaned_data = super().clean()
        seen = self.data.get(self.add_initial_prefix("status"))
        if (
            cleaned_data.get("status") == FollowUp.Status.DONE
            and seen in (FollowUp.Status.OPEN, FollowUp.Status.WAITING)
            and self.instance.pk is not None
            and not self.instance.is_open
        ):
            raise forms.ValidationError(
                _(
                    "Someone else closed this follow-up (now %(status)s) while you were "
                    "editing it; nothing was saved. Reload the page to see their changes."
                ),
                params={"status": self.instance.get_status_display()},
                code="closed_meanwhile",
            )
        note = (cleaned_data.get("completion_note") or "").strip()
        if cleaned_data.get("status") == FollowUp.Status.DONE and not note:
            self.add_error(
                "completion_note", _("Say what was done before marking the follow-up done.")
            )
        if (
            cleaned_data.get("status") == FollowUp.Status.DONE
            and self.instance.status == FollowUp.Status.CANCELLED
        ):
            # crm.services.follow_up_complete completes open work only.
            self.add_error("status", _("Reopen a cancelled follow-up before marking it done."))
        return cleaned_data


class PartnershipInlineForm(forms.ModelForm):
    """A partnership row: the stage is chosen when adding, then moved by the action."""

    class Meta:
        model = Partnership
        fields = ["organization", "project", "role", "stage", "owner", "contact_cadence_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "stage" in self.fields:
            # A disabled field ignores what is posted: the stage of an existing
            # partnership only moves through the "Change stage" action, which
            # records the move.
            self.fields["stage"].disabled = True


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


class FollowUpSnoozeForm(forms.Form):
    due_on = forms.DateField(label=_("New due date"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class FollowUpReassignForm(forms.Form):
    assignee = StaffChoiceField(label=_("New assignee"), queryset=staff_members())


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
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organisations"),
        queryset=Organization.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
    )
    people = forms.ModelMultipleChoiceField(
        label=_("People met"),
        queryset=Person.objects.order_by("family_name", "given_name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    staff = StaffMultipleChoiceField(
        label=_("Staff present"),
        queryset=staff_members(),
        widget=forms.CheckboxSelectMultiple,
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
