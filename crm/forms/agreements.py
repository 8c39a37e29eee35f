"""Forms of the agreement pages; writes go through crm.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.base import VersionedModelForm
from crm.forms.choosers import ChooserMultipleField
from crm.forms.widgets import DateInput, StaffChoiceField
from crm.models import Agreement, AgreementParty, Project, Source
from crm.roles import staff_members


class AgreementForm(forms.ModelForm):
    """A new agreement, in draft; saved by ``services.agreement_create``."""

    parties = ChooserMultipleField(
        "organizations",
        label=_("Parties"),
        help_text=_("The organisations bound by it, the Togolese side included."),
    )

    class Meta:
        model = Agreement
        fields = [
            "kind",
            "title",
            "summary",
            "projects",
            "owner",
            "effective_on",
            "expires_on",
            "source",
        ]
        widgets = {
            "effective_on": DateInput,
            "expires_on": DateInput,
            "summary": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = StaffChoiceField(
            label=_("Owner"), queryset=staff_members(), required=False
        )
        self.fields["projects"].queryset = Project.objects.order_by("name")
        self.fields["projects"].required = False
        self.fields["source"].queryset = Source.objects.order_by("title")


class AgreementEditForm(AgreementForm, VersionedModelForm):
    """Correcting an agreement, opened on its version; saved by ``services.agreement_update``.

    The fields of the recording form, its parties included; the status moves
    through its own actions on the agreement's page.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault(
            "parties", list(self.instance.parties.values_list("organization_id", flat=True))
        )

    def to_service(self) -> dict:
        """Return the arguments of ``services.agreement_update`` from the cleaned data."""
        return {
            "changes": {name: self.cleaned_data[name] for name in self.edited_fields()},
            "version": self.cleaned_data["version"],
            "parties": self.cleaned_data["parties"],
            "projects": self.cleaned_data["projects"],
        }


class AgreementStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    effective_on = forms.DateField(
        label=_("Effective on"),
        required=False,
        widget=DateInput,
        help_text=_("Needed to bring it into force, unless already recorded."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, agreement: Agreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (status, Agreement.Status(status).label) for status in agreement.allowed_statuses
        ]


class PartySignatureForm(forms.Form):
    """The date one party signed; recorded before the agreement is marked signed."""

    party = forms.ModelChoiceField(label=_("Party"), queryset=AgreementParty.objects.none())
    signed_on = forms.DateField(label=_("Signed on"), widget=DateInput)

    def __init__(self, *args, agreement: Agreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = agreement.parties.select_related("organization")


class ObligationForm(forms.Form):
    """An obligation of an agreement, to be done by someone by a date: a follow-up."""

    title = forms.CharField(label=_("Obligation"), max_length=300)
    project = forms.ModelChoiceField(label=_("Project"), queryset=Project.objects.none())
    assignee = StaffChoiceField(label=_("Assignee"), queryset=staff_members())
    due_on = forms.DateField(label=_("Due on"), widget=DateInput)

    def __init__(self, *args, agreement: Agreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = agreement.projects.order_by("name")
