"""Forms of the document pages; writes go through crm.services."""

from django import forms

from crm.models import Document


class DocumentForm(forms.ModelForm):
    """A file to keep; checked from its content by ``services.document_create``."""

    class Meta:
        model = Document
        fields = ["title", "file", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        accepted = ".pdf,.docx,.xlsx,.odt,.png,.jpg,.jpeg"
        self.fields["file"].widget.attrs["accept"] = accepted
