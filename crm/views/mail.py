"""The pages of mail: uploading messages, "Courriels à classer", one message, its filing.

Every write goes through ``crm.services`` (``mail_receive_many``, ``mail_file``,
``mail_create_sender``, ``mail_discard``). Bodies and attachments are shown
to those with ``crm.read_mail_body`` (Staff, Coordination) only.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from rest_framework import exceptions, status

from crm import services, uploads
from crm.forms import MailDiscardForm, MailFileForm, MailUploadForm
from crm.models import MailMessage
from crm.services.mail import max_bytes, too_large_reason
from crm.views.common import require

PAGE_SIZE = 50


class MailTooLarge(exceptions.APIException):
    """A message over CRM_MAIL_MAX_BYTES: 413, for the API and the pages alike."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "message_too_large"

    def __init__(self):
        super().__init__(too_large_reason())


def limit_mail_uploads(request) -> None:
    """Refuse ``request``'s message past CRM_MAIL_MAX_BYTES while it arrives (crm.uploads).

    One submission carries at most one message's worth in all: what the proxy
    in front lets through (docs/nginx/crm.conf), so both refuse alike.
    """
    uploads.limit_uploads(request, limit=max_bytes(), too_large=MailTooLarge)


def can_read_bodies(user) -> bool:
    return user.has_perm("crm.read_mail_body")


def _get_message_for_user(request: HttpRequest, pk: int) -> MailMessage:
    require(request, "crm.view_mailmessage")
    return get_object_or_404(
        MailMessage.objects.select_related(
            "interaction", "organization", "person", "project", "filed_by", "received_by"
        ),
        pk=pk,
    )


@require_GET
@login_required
def mail_list(request: HttpRequest) -> HttpResponse:
    """ "Courriels à classer": the messages waiting for someone to file them, newest first."""
    require(request, "crm.view_mailmessage")
    queryset = (
        MailMessage.objects.waiting()
        .select_related("organization", "filed_by")
        .order_by("-received_at", "-id")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crm/mail_list.html", {"page": page})


def read_upload(upload) -> bytes:
    """Return an uploaded message's bytes; its size was bounded while it arrived."""
    upload.seek(0)
    return upload.read(max_bytes() + 1)


@csrf_exempt
@login_required
def mail_upload(request: HttpRequest) -> HttpResponse:
    """Upload one or several .eml files; list what became of each."""
    require(request, "crm.view_mailmessage", "crm.add_mailmessage")
    if request.method == "POST":
        # Before anything reads the body (the CSRF check reads the form).
        limit_mail_uploads(request)
    try:
        return _mail_upload(request)
    except MailTooLarge as error:
        context = {"form": MailUploadForm(), "too_large": error.detail, "max_bytes": max_bytes()}
        return render(request, "crm/mail_upload.html", context, status=413)


@csrf_protect
def _mail_upload(request: HttpRequest) -> HttpResponse:
    form = MailUploadForm(request.POST or None, request.FILES or None)
    results = []
    status_code = 200
    if request.method == "POST":
        if form.is_valid():
            uploads = form.cleaned_data["messages"]
            outcomes = services.mail_receive_many(
                [read_upload(upload) for upload in uploads],
                door=MailMessage.Door.UPLOAD,
                by=request.user,
            )
            for upload, outcome in zip(uploads, outcomes, strict=True):
                name = (upload.name or "")[-200:]
                if isinstance(outcome, services.MailRefused):
                    results.append({"name": name, "error": str(outcome)})
                elif isinstance(outcome, Exception):
                    raise outcome  # A fault of ours: the server error it is.
                else:
                    results.append(
                        {"name": name, "message": outcome.message, "created": outcome.created}
                    )
            if all("error" in result for result in results):
                status_code = 400
        else:
            status_code = 400
    context = {"form": form, "results": results, "max_bytes": max_bytes()}
    return render(request, "crm/mail_upload.html", context, status=status_code)


@require_GET
@login_required
def mail_message(request: HttpRequest, pk: int) -> HttpResponse:
    """One message: headers for everyone allowed to see mail, body and attachments for Staff."""
    message = _get_message_for_user(request, pk)
    can_act = message.status == MailMessage.Status.TO_FILE and request.user.has_perm(
        "crm.change_mailmessage"
    )
    initial = {"organization": message.organization, "project": message.project}
    context = {
        "message": message,
        "can_read": can_read_bodies(request.user),
        "can_act": can_act,
        "can_discard": message.is_waiting and request.user.has_perm("crm.change_mailmessage"),
        "file_form": MailFileForm(initial=initial),
        "discard_form": MailDiscardForm(),
    }
    if context["can_read"]:
        context["documents"] = list(message.documents.all())
    return render(request, "crm/mail_message.html", context)


@require_POST
@login_required
def mail_file(request: HttpRequest, pk: int) -> HttpResponse:
    """File a waiting message; with ``create_sender``, record its sender as a person first."""
    message = _get_message_for_user(request, pk)
    require(request, "crm.change_mailmessage", "crm.add_interaction")
    form = MailFileForm(request.POST)
    if form.is_valid():
        values = {
            "message": message,
            "organization": form.cleaned_data["organization"],
            "project": form.cleaned_data["project"],
            "by": request.user,
        }
        try:
            if "create_sender" in request.POST:
                require(request, "crm.add_person")
                services.mail_create_sender(**values)
            else:
                services.mail_file(**values)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Message filed: %(subject)s.") % {"subject": message})
            return redirect("mail")
    context = {
        "message": message,
        "can_read": can_read_bodies(request.user),
        "can_act": True,
        "can_discard": True,
        "file_form": form,
        "discard_form": MailDiscardForm(),
    }
    return render(request, "crm/mail_message.html", context, status=400)


@require_POST
@login_required
def mail_discard(request: HttpRequest, pk: int) -> HttpResponse:
    message = _get_message_for_user(request, pk)
    require(request, "crm.change_mailmessage")
    form = MailDiscardForm(request.POST)
    if form.is_valid():
        try:
            services.mail_discard(
                message=message, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Message discarded: %(subject)s.") % {"subject": message})
            return redirect("mail")
    context = {
        "message": message,
        "can_read": can_read_bodies(request.user),
        "can_act": message.status == MailMessage.Status.TO_FILE,
        "can_discard": True,
        "file_form": MailFileForm(),
        "discard_form": form,
    }
    return render(request, "crm/mail_message.html", context, status=400)
