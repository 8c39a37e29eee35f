"""Forms of meetings: logging an interaction with its follow-ups, applying a plan to it."""

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms.choosers import ChooserField, ChooserMultipleField
from crm.forms.widgets import (
    DateInput,
    SearchableSelectMultiple,
    StaffChoiceField,
    StaffMultipleChoiceField,
    TimeInput,
)
from crm.models import (
    DatePrecision,
    FollowUp,
    FollowUpPlan,
    Interaction,
    Mission,
    Organization,
    Project,
)
from crm.roles import staff_members
from crm.versions import version_of


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
    time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=TimeInput,
        help_text=_("In Lomé's time; leave blank when not known."),
    )
    location = forms.CharField(
        label=_("Place"),
        max_length=200,
        required=False,
        help_text=_("A room, an address, a video link."),
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    mission = forms.ModelChoiceField(
        label=_("Mission"), queryset=Mission.objects.all(), required=False
    )
    # The directory grows without bound: a chooser lists only what is chosen
    # and finds the rest by name (crm.forms.choosers).
    organizations = ChooserMultipleField("organizations", label=_("Organisations"))
    people = ChooserMultipleField(
        "people",
        label=_("People met"),
        required=False,
        help_text=_("Someone met for the first time: add them below."),
    )
    # A few dozen colleagues: every one listed, with a filter box.
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

    def clean(self):
        data = super().clean()
        # The service takes the moment (starts_at); people give a date and a time.
        moment = data.pop("time", None)
        day = data.get("occurred_on")
        data["starts_at"] = (
            timezone.make_aware(datetime.combine(day, moment), timezone.get_default_timezone())
            if moment is not None and day is not None
            else None
        )
        return data


class InteractionEditForm(InteractionForm):
    """Correcting an interaction, opened on its version; saved by ``services.interaction_update``.

    The fields of the logging form, filled from the interaction; its
    follow-ups have their own pages.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    # The many-to-many fields, set as a whole by the service.
    LINKS = ("organizations", "people", "staff", "projects")

    def __init__(self, *args, instance: Interaction, **kwargs):
        self.instance = instance
        kwargs["initial"] = {**self.initial_of(instance), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        # No "add them below" here: a new person is added from their own page.
        self.fields["people"].help_text = ""

    @classmethod
    def initial_of(cls, interaction: Interaction) -> dict:
        starts_at = interaction.starts_at
        zone = timezone.get_default_timezone()
        return {
            "kind": interaction.kind,
            "title": interaction.title,
            "occurred_on": interaction.occurred_on,
            "date_precision": interaction.date_precision,
            "time": timezone.localtime(starts_at, zone).time() if starts_at else None,
            "location": interaction.location or "",
            "city": interaction.city,
            "mission": interaction.mission_id,
            "summary": interaction.summary,
            "outcome": interaction.outcome,
            **{
                name: list(getattr(interaction, name).values_list("pk", flat=True))
                for name in cls.LINKS
            },
            "version": version_of(interaction),
        }

    def clean(self):
        data = super().clean()
        if not data.get("version"):
            raise forms.ValidationError(
                _("The form lost track of its version: reload the page."), code="no_version"
            )
        before = self.instance.starts_at
        after = data.get("starts_at")
        if before and after and before.replace(second=0, microsecond=0) == after:
            # The time is shown to the minute: the same minute is no change.
            data["starts_at"] = before
        if not data.get("location") and not self.instance.location:
            # Empty and NULL both say "not known": no change either.
            data["location"] = self.instance.location
        return data

    def to_service(self) -> dict:
        """Return the arguments of ``services.interaction_update`` from the cleaned data."""
        data = dict(self.cleaned_data)
        links = {name: data.pop(name) for name in self.LINKS}
        version = data.pop("version")
        return {"changes": data, "version": version, **links}


class FollowUpRowForm(forms.Form):
    """One follow-up opened by the interaction being logged. Blank rows are skipped."""

    title = forms.CharField(label=_("Follow-up"), max_length=300)
    project = forms.ModelChoiceField(label=_("Project"), queryset=Project.objects.all())
    organization = ChooserField("organizations", label=_("Organisation"), required=False)
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
