"""Importing organisations and people from a spreadsheet: upload, preview, confirm."""

import secrets
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from crm import importing


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8) or XLSX; row 1 names the columns.")
    )


class ContactImportMixin:
    """An "Import" page: upload, preview (a dry run), then confirm.

    The uploaded file waits in a private temporary folder between the preview
    and the confirmation, under a random name remembered in the session.
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

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(name)s") % {"name": self.opts.verbose_name_plural},
            "form": form,
            "columns": importing.COLUMNS[self.import_kind],
        }
        pending = request.session.get(IMPORT_SESSION_KEY, {})
        token = request.POST.get("confirm")
        if token:
            if token not in pending:
                raise PermissionDenied
            filename = pending.pop(token)
            request.session[IMPORT_SESSION_KEY] = pending
            stored = _import_dir() / f"{token}{Path(filename).suffix.lower()}"
            try:
                with stored.open("rb") as file:
                    result = importing.import_contacts(
                        file,
                        filename=filename,
                        dry_run=False,
                        by=request.user,
                        expect=self.import_kind,
                    )
            except (OSError, importing.ImportFileError) as error:
                self.message_user(request, str(error), messages.ERROR)
                return redirect(request.path)
            finally:
                stored.unlink(missing_ok=True)
            if result.errors:
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
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            token = secrets.token_hex(16)
            suffix = Path(upload.name).suffix.lower()
            stored = _import_dir() / f"{token}{suffix}"
            with stored.open("wb") as destination:
                for chunk in upload.chunks():
                    destination.write(chunk)
            try:
                with stored.open("rb") as file:
                    result = importing.import_contacts(
                        file,
                        filename=upload.name,
                        dry_run=True,
                        by=request.user,
                        expect=self.import_kind,
                    )
            except importing.ImportFileError as error:
                stored.unlink(missing_ok=True)
                form.add_error("file", str(error))
            else:
                context["result"] = result
                if result.errors:
                    stored.unlink(missing_ok=True)
                else:
                    pending[token] = upload.name
                    request.session[IMPORT_SESSION_KEY] = pending
                    context["token"] = token
        return TemplateResponse(request, "admin/crm/import.html", context)


IMPORT_SESSION_KEY = "crm_pending_imports"


def _import_dir() -> Path:
    directory = Path(tempfile.gettempdir()) / "crm-imports"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory
