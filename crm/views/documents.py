"""The pages of documents: uploading a file (or a new version of one), downloading it.

Every write goes through ``crm.services``; what other pages show of
documents is built in ``crm.views.sections``.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from crm import services
from crm.documents import FileTooLarge, limit_document_uploads, max_bytes, open_stored_file
from crm.forms import DocumentForm
from crm.models import Agreement, Commitment, Document, Interaction, Organization
from crm.security import is_ascii_int
from crm.views.common import add_errors, require

ATTACH_LOOKUPS = {
    "organization": (Organization, "slug", "crm.view_organization"),
    "interaction": (Interaction, "slug", "crm.view_interaction"),
    "agreement": (Agreement, "slug", "crm.view_agreement"),
    "commitment": (Commitment, "pk", "crm.view_commitment"),
}


def _attachment(request: HttpRequest) -> tuple[dict[str, Any], Document | None]:
    """Return what the new document is attached to (from the URL), and what it replaces."""
    replaces = None
    if is_ascii_int(pk := request.GET.get("replaces", "")):
        replaces = get_object_or_404(Document, pk=pk)
        return {}, replaces
    for name, (model, field, perm) in ATTACH_LOOKUPS.items():
        key = request.GET.get(name)
        if key:
            if field == "pk" and not is_ascii_int(key):
                break
            require(request, perm)
            return {name: get_object_or_404(model, **{field: key})}, None
    raise PermissionDenied  # Nothing to attach to: the link was not followed from a page.


@csrf_exempt
@login_required
def document_new(request: HttpRequest) -> HttpResponse:
    """Upload a file: refused past the size limit while it arrives, then checked."""
    require(request, "crm.view_document", "crm.add_document")
    if request.method == "POST":
        # Before anything reads the body (the CSRF check reads the form).
        limit_document_uploads(request)
    try:
        return _document_new(request)
    except FileTooLarge as error:
        # Raised while the body arrives, before the form is read: nothing was saved.
        context = {"form": DocumentForm(), "too_large": error.detail, "max_bytes": max_bytes()}
        return render(request, "crm/document_form.html", context, status=413)


@csrf_protect
def _document_new(request: HttpRequest) -> HttpResponse:
    attachment, replaces = _attachment(request)
    form = DocumentForm(
        request.POST or None,
        request.FILES or None,
        initial={"title": replaces.title} if replaces else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(
                by=request.user,
                file=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                notes=form.cleaned_data["notes"],
                previous_version=replaces,
                **attachment,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Document kept: %(title)s.") % {"title": document})
            target = (
                document.agreement
                or document.commitment
                or document.organization
                or document.interaction
            )
            return redirect(target)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "attachment": attachment,
        "replaces": replaces,
        "max_bytes": max_bytes(),
    }
    return render(request, "crm/document_form.html", context, status=status)


def document_response(document: Document) -> FileResponse:
    """Stream a kept file as a download, named as uploaded, typed as checked."""
    response = FileResponse(
        open_stored_file(document),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
@login_required
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "crm.view_document")
    return document_response(get_object_or_404(Document.objects.visible_to(request.user), pk=pk))
