"""Forms of mail: uploading messages, filing one that waits, discarding it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.choosers import ChooserField
from crm.models import Project

# Files read per upload: more is refused, so that one request stays bounded.
MAX_UPLOAD_FILES = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".eml,message/rfc822"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [file for file in files if file]
        if not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_UPLOAD_FILES:
            raise forms.ValidationError(
                _("At most %(count)d messages at a time.") % {"count": MAX_UPLOAD_FILES}
            )
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


class MailUploadForm(forms.Form):
    messages = MultipleFileField(
        label=_("Messages (.eml)"),
        help_text=_(
            "One or several e-mails saved as .eml. From Outlook, save the message as "
            ".eml first: .msg files are not read."
        ),
    )


class MailFileForm(forms.Form):
    """The organisation (and project) a waiting message is filed with."""

    organization = ChooserField("organizations", label=_("Organisation"))
    project = forms.ModelChoiceField(
        label=_("Project"),
        queryset=Project.objects.order_by("name"),
        required=False,
        help_text=_("Left empty: the organisation's only open partnership's project, if any."),
    )


class MailDiscardForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000)
