"""Forms of partnerships: the admin's, its actions' pages, and the staff pages'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.forms.base import VersionedActionForm, VersionedAdminForm, VersionedModelForm
from crm.forms.widgets import StaffChoiceField
from crm.models import Organization, Partnership, Project, Source
from crm.roles import staff_members

# The admin.


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


# Intermediate pages of the admin actions.


class AssignOwnerForm(forms.Form):
    owner = StaffChoiceField(
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


# Staff pages.


class PartnershipStageForm(ChangeStageForm, VersionedActionForm):
    """The pipeline's move: refused when the partnership changed since the page showed it."""


class PartnershipOwnerForm(VersionedActionForm):
    """The partnership page's "Owner": a colleague, by name, or nobody."""

    owner = StaffChoiceField(
        label=_("Owner"),
        queryset=staff_members(),
        required=False,
        empty_label=_("Nobody"),
        help_text=_("Told by e-mail, and by the dashboard when it goes quiet."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=services.REASON_MAX_LENGTH, required=False
    )


class PartnershipCadenceForm(VersionedActionForm):
    """The partnership page's contact cadence: every how many days it needs news."""

    contact_cadence_days = forms.IntegerField(
        label=_("Contact every (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty to use the default for the stage."),
    )


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


class PartnershipEditForm(VersionedModelForm):
    """What was recorded of a partnership: its role, notes and source.

    Its stage, owner and cadence have their own actions on its page; its
    organisation and project are what it is.
    """

    class Meta:
        model = Partnership
        fields = ["role", "notes", "source"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Source.objects.order_by("title")
