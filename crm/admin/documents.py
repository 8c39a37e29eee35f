"""Kept documents.

A document is added through ``services.document_create`` (content checked) and
its file is never replaced: a new file is a new version.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from crm import services
from crm.admin.base import HistoryAdmin, take_created
from crm.documents import FileTooLarge, check_upload, limit_document_uploads
from crm.models import Document


class DocumentAddForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = [
            "title",
            "file",
            "previous_version",
            "organization",
            "interaction",
            "agreement",
            "commitment",
            "notes",
            "is_demo",
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_upload(upload)
        except ValidationError as error:
            # check_upload names the field ({"file": …}) for the API and the
            # service; here, in the field's own clean, the messages alone (a
            # dict raised from clean_file was a TypeError, a 500).
            raise ValidationError(error.messages) from None
        return upload

    def clean_previous_version(self):
        previous = self.cleaned_data.get("previous_version")
        if previous is not None and Document.objects.filter(previous_version=previous).exists():
            raise ValidationError(_("A newer version of this document exists already."))
        return previous


@admin.register(Document)
class DocumentAdmin(HistoryAdmin):
    list_display = ["__str__", "content_type", "size", "uploaded_at", "download"]
    list_filter = ["content_type", "is_demo"]
    list_select_related = ["uploaded_by"]
    search_fields = ["title", "original_name", "sha256"]
    autocomplete_fields = ["organization", "interaction", "agreement", "commitment"]
    raw_id_fields = ["previous_version"]
    readonly_fields = [
        "download",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "revision",
        "previous_version",
        "uploaded_by",
        "uploaded_at",
        "updated_at",
    ]

    # Exempt, so that admin_view adds no CSRF check that would read the body
    # before the limit is in place: changeform_view, under them, checks it.
    @method_decorator(csrf_exempt)
    def add_view(self, request, form_url="", extra_context=None):
        return self._limited(request, super().add_view, form_url, extra_context)

    @method_decorator(csrf_exempt)
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._limited(request, super().change_view, object_id, form_url, extra_context)

    def _limited(self, request, view, *args):
        """Run ``view`` with the upload refused past CRM_DOCUMENT_MAX_BYTES as it arrives."""
        if request.method == "POST":
            limit_document_uploads(request)
        try:
            return view(request, *args)
        except FileTooLarge as error:
            # Nothing of the body was kept: the page says so and leads back to the form.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("File too large"),
                "too_large": error.detail,
                "back_url": request.get_full_path(),
            }
            return TemplateResponse(
                request, "admin/crm/upload_too_large.html", context, status=413
            )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return DocumentAddForm.Meta.fields
        return [
            "title",
            "notes",
            "download",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "revision",
            "previous_version",
            "organization",
            "interaction",
            "agreement",
            "commitment",
            "is_demo",
            "uploaded_by",
            "uploaded_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The file and what it belongs to never change: a new file is a new version.
        return [*self.readonly_fields, "organization", "interaction", "agreement", "commitment"]

    @admin.display(description=_("file"))
    def download(self, document: Document) -> str:
        if not document.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', document.get_absolute_url(), document.original_name
        )

    def create_object(self, request, obj, form) -> None:
        # The form checked the file; the service checks it again under a lock.
        take_created(obj, services.document_create(by=request.user, **form.cleaned_data))
