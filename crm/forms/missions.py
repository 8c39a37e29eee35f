"""Forms of missions: the admin's (the staff pages only show a mission's report)."""

from django import forms

from crm.forms.base import check_span
from crm.models import Mission


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
        check_span(self, "start_on", "end_on")
        return cleaned_data
