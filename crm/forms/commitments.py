"""Forms of the commitment pages; writes go through crm.services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.base import VersionedModelForm
from crm.forms.choosers import use_chooser
from crm.forms.widgets import DateInput, StaffChoiceField
from crm.models import Commitment, Partnership, Source
from crm.roles import staff_members


class CommitmentForm(forms.ModelForm):
    """A new commitment, announced; saved by ``services.commitment_create``."""

    class Meta:
        model = Commitment
        fields = [
            "partnership",
            "kind",
            "description",
            "amount",
            "currency",
            "expected_on",
            "source",
        ]
        widgets = {
            "expected_on": DateInput,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, partnerships=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = partnerships if partnerships is not None else Partnership.objects.all()
        self.fields["partnership"].queryset = queryset.select_related("organization", "project")
        use_chooser(self, "partnership", "partnerships")
        self.fields["source"].queryset = Source.objects.order_by("title")


class CommitmentEditForm(CommitmentForm, VersionedModelForm):
    """Correcting a commitment, opened on its version; saved by ``services.commitment_update``.

    The fields of the recording form; the status and the amount delivered
    move through their own actions on the commitment's page.
    """


class CommitmentStatusForm(forms.Form):
    """Confirm, withdraw or mark lapsed; delivery has its own form."""

    status = forms.ChoiceField(label=_("New status"))
    source = forms.ModelChoiceField(
        label=_("Source"),
        queryset=Source.objects.order_by("title"),
        required=False,
        help_text=_("Confirming needs a source, or a document attached to the commitment."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, commitment: Commitment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (status, Commitment.Status(status).label)
            for status in commitment.allowed_statuses
            if status != Commitment.Status.DELIVERED
        ]


class CommitmentDeliveryForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount delivered"),
        max_digits=17,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    final = forms.BooleanField(
        label=_("Nothing more will come"),
        required=False,
        help_text=_("Marks the commitment delivered even if the parts fall short of its amount."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommitmentFollowUpForm(forms.Form):
    """Something to do about a commitment (a reminder, a check): a follow-up."""

    title = forms.CharField(label=_("Follow-up"), max_length=300)
    assignee = StaffChoiceField(label=_("Assignee"), queryset=staff_members())
    due_on = forms.DateField(label=_("Due on"), widget=DateInput)
