"""Importing organisations and people from a spreadsheet: upload, preview, confirm.

A file of at most ``importing.ADMIN_MAX_ROWS`` rows is previewed and imported
within the request, as it always was; a larger one becomes an import job
(``crm/importing/jobs.py``), whose page on the staff site follows its check,
its confirmation and its import.
"""

import io

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from crm import importing, uploads
from crm.importing import jobs as import_jobs
from crm.importing.jobs import ImportTooLarge, too_large_message
from crm.models import PendingImport
from crm.security import is_ascii_int


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8) or XLSX; row 1 names the columns.")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.CRM_IMPORT_MAX_BYTES:
            raise forms.ValidationError(too_large_message())
        return upload


class ContactImportMixin:
    """An "Import" page: upload, preview (a dry run), then confirm.

    Between the preview and the confirmation the file waits in the database
    (``PendingImport``), so that the confirmation may reach any app server; only
    its uploader may confirm it, once, within ``PendingImport.TTL``.
    """

    import_kind: str = ""
    change_list_template = "admin/crm/change_list_with_import.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": (self.has_import_permission(request)),
        }
        return super().changelist_view(request, extra_context)

    def import_context(self, request, form: ImportForm) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(name)s") % {"name": self.opts.verbose_name_plural},
            "form": form,
            "columns": importing.COLUMNS[self.import_kind],
        }

    # Exempt here, so that admin_view adds no CSRF check that would read the
    # body before the limit is in place; _import_view checks it instead.
    @method_decorator(csrf_exempt)
    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            uploads.limit_uploads(
                request, limit=settings.CRM_IMPORT_MAX_BYTES, too_large=ImportTooLarge
            )
        try:
            return self._import_view(request)
        except ImportTooLarge as error:
            # Raised while the body arrived: nothing of it was kept, the form is new.
            form = ImportForm(data={}, files={})
            form.errors["file"] = form.error_class([str(error)])
            context = self.import_context(request, form)
            return TemplateResponse(request, "admin/crm/import.html", context, status=413)

    @method_decorator(csrf_protect)
    def _import_view(self, request):
        form = ImportForm(request.POST or None, request.FILES or None)
        context = self.import_context(request, form)
        if request.POST.get("confirm"):
            return self.confirm_import(request, request.POST["confirm"], context)
        if request.method == "POST":
            # Each preview clears a few uploads nobody confirmed in time.
            PendingImport.objects.delete_expired(now=timezone.now())
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = importing.count_rows_in(upload, upload.name)
            except importing.ImportFileError as error:
                form.add_error("file", str(error))
                return TemplateResponse(request, "admin/crm/import.html", context)
            if rows is None or rows > importing.ADMIN_MAX_ROWS:
                # Too long for a request: checked and imported by a job.
                job = import_jobs.start(request.user, upload, kind=self.import_kind)
                return redirect("import-job", pk=job.pk)
            upload.seek(0)
            content = upload.read()
            try:
                result = importing.import_contacts(
                    io.BytesIO(content),
                    filename=upload.name,
                    dry_run=True,
                    by=request.user,
                    expect=self.import_kind,
                    max_rows=importing.ADMIN_MAX_ROWS,
                )
            except importing.ImportFileError as error:
                form.add_error("file", str(error))
            else:
                context["result"] = result
                if not result.error_count:
                    pending = PendingImport.objects.create(
                        user=request.user,
                        kind=self.import_kind,
                        file_name=upload.name[-255:],
                        content=content,
                    )
                    context["token"] = pending.pk
        return TemplateResponse(request, "admin/crm/import.html", context)

    def confirm_import(self, request, token: str, context: dict):
        """Import the file previewed by this user, once, if it has not expired."""
        if not is_ascii_int(token):
            raise PermissionDenied
        pending = PendingImport.objects.filter(
            pk=token, user=request.user, kind=self.import_kind
        ).first()
        if pending is None:  # Someone else's, already confirmed, or cleaned up.
            raise PermissionDenied
        if pending.is_expired(now=timezone.now()):
            pending.delete()
            self.message_user(
                request,
                _("This preview has expired: upload the file again."),
                messages.ERROR,
            )
            return redirect(request.path)
        error = None
        with transaction.atomic():
            # The delete is the claim: of two confirmations at once, one finds
            # nothing left and is refused, so the file is imported once.
            if not PendingImport.objects.filter(pk=pending.pk).delete()[0]:
                raise PermissionDenied
            try:
                result = importing.import_contacts(
                    io.BytesIO(bytes(pending.content)),
                    filename=pending.file_name,
                    dry_run=False,
                    by=request.user,
                    expect=self.import_kind,
                    max_rows=importing.ADMIN_MAX_ROWS,
                )
            except importing.ImportFileError as unreadable:
                error = str(unreadable)
        if error is not None:
            self.message_user(request, error, messages.ERROR)
            return redirect(request.path)
        if result.error_count:
            # The data changed since the preview; show what is wrong now.
            context["result"] = result
            return TemplateResponse(request, "admin/crm/import.html", context)
        self.message_user(
            request,
            _("Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
            messages.SUCCESS,
        )
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
