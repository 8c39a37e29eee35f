"""Forms of follow-ups: the admin's, its actions' pages, and the staff pages'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.forms.base import VersionedActionForm, VersionedAdminForm, VersionedModelForm
from crm.forms.choosers import use_chooser
from crm.forms.widgets import DateInput, StaffChoiceField
from crm.models import FollowUp, Project
from crm.roles import staff_members

# The admin.


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


class SnoozeForm(forms.Form):
    due_on = forms.DateField(label=_("New due date"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=services.REASON_MAX_LENGTH)


# Staff pages.


class FollowUpDoneForm(forms.Form):
    completion_note = forms.CharField(
        label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2})
    )
    contact = forms.BooleanField(
        label=_("This was a contact with the partner"),
        required=False,
        help_text=_("Logs it as an interaction, which counts as the partnership's last contact."),
    )

    def __init__(self, *args, follow_up: FollowUp | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if follow_up is None or follow_up.organization_id is None:
            # No organisation, no partner: the service would refuse it anyway.
            del self.fields["contact"]


class FollowUpSnoozeForm(SnoozeForm, VersionedActionForm):
    pass


class FollowUpReassignForm(VersionedActionForm):
    assignee = StaffChoiceField(label=_("New assignee"), queryset=staff_members())


class FollowUpWaitingForm(VersionedActionForm):
    pass


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
        use_chooser(self, "organization", "organizations")
        use_chooser(self, "person", "people")


class FollowUpEditForm(VersionedModelForm):
    """A follow-up's own facts; its status, assignee and due date move by their actions."""

    class Meta:
        model = FollowUp
        fields = ["title", "description", "priority", "project", "organization", "person"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.order_by("name")
        use_chooser(self, "organization", "organizations")
        use_chooser(self, "person", "people")
