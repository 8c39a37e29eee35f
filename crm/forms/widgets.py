"""The staff pages' inputs: a date picker, lists with a filter box, staff named in full."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    """A native date picker; browsers send ISO dates, which every locale parses."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    """A native time picker; browsers send 24-hour HH:MM, which every locale parses."""

    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


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
