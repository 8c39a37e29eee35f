"""The pages of commitments: recording one, its page, moving its status, deliveries.

Every write goes through ``crm.services``; what other pages show of
commitments is built in ``crm.views.sections``.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import services
from crm.forms import (
    CommitmentDeliveryForm,
    CommitmentEditForm,
    CommitmentFollowUpForm,
    CommitmentForm,
    CommitmentStatusForm,
)
from crm.models import Commitment, Organization, Partnership, Project
from crm.views.common import add_errors, edit_page, require
from crm.views.sections import LIST_LIMIT


def _get_commitment_for_user(request: HttpRequest, pk: int) -> Commitment:
    require(request, "crm.view_commitment")
    return get_object_or_404(
        Commitment.objects.select_related(
            "partnership__organization", "partnership__project", "source", "created_by"
        ),
        pk=pk,
    )


@login_required
def commitment_new(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_commitment", "crm.add_commitment")
    partnerships = Partnership.objects.all()
    project = organization = None
    if code := request.GET.get("project"):
        project = get_object_or_404(Project, code=code)
        partnerships = partnerships.filter(project=project)
    if slug := request.GET.get("organization"):
        organization = get_object_or_404(Organization, slug=slug)
        partnerships = partnerships.filter(organization=organization)
    form = CommitmentForm(request.POST or None, partnerships=partnerships)
    if request.method == "POST" and form.is_valid():
        try:
            commitment = services.commitment_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Commitment recorded as announced."))
            return redirect(commitment)
    context = {"form": form, "project": project, "organization": organization}
    return render(request, "crm/commitment_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def commitment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct what was recorded of a commitment; its status keeps its own actions."""
    require(request, "crm.view_commitment", "crm.change_commitment")
    commitment = get_object_or_404(
        Commitment.objects.select_related("partnership__organization", "partnership__project"),
        pk=pk,
    )
    return edit_page(
        request,
        CommitmentEditForm(request.POST or None, instance=commitment),
        template="crm/commitment_form.html",
        context={
            "editing": True,
            "commitment": commitment,
            "cancel_url": reverse("commitment", args=[commitment.pk]),
        },
        saved_message=lambda saved: _("Commitment saved."),
        save=lambda form: services.commitment_update(
            commitment=commitment,
            changes={name: form.cleaned_data[name] for name in form.edited_fields()},
            by=request.user,
            version=form.cleaned_data["version"],
        ),
    )


@require_GET
@login_required
def commitment(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = _get_commitment_for_user(request, pk)
    context = {
        "commitment": commitment,
        "changes": commitment.status_changes.select_related("changed_by")[:LIST_LIMIT],
        "documents": commitment.documents.select_related("uploaded_by").order_by("-uploaded_at")[
            :LIST_LIMIT
        ],
        "follow_ups": commitment.follow_ups.select_related("assignee").order_by("due_on")[
            :LIST_LIMIT
        ],
        "can_move": request.user.has_perm("crm.change_commitment"),
        "status_form": CommitmentStatusForm(commitment=commitment),
        "delivery_form": CommitmentDeliveryForm(),
        "can_deliver": Commitment.Status.DELIVERED in commitment.allowed_statuses,
        "follow_up_form": CommitmentFollowUpForm(initial={"assignee": request.user})
        if request.user.has_perm("crm.add_followup")
        else None,
    }
    return render(request, "crm/commitment.html", context)


@require_POST
@login_required
def commitment_status(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = _get_commitment_for_user(request, pk)
    require(request, "crm.change_commitment")
    form = CommitmentStatusForm(request.POST, commitment=commitment)
    if not form.is_valid():
        messages.error(request, _("Choose one of the statuses offered."))
        return redirect(commitment)
    try:
        services.commitment_change_status(
            commitment=commitment,
            to_status=form.cleaned_data["status"],
            source=form.cleaned_data["source"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Status changed."))
    return redirect(commitment)


@require_POST
@login_required
def commitment_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = _get_commitment_for_user(request, pk)
    require(request, "crm.change_commitment")
    form = CommitmentDeliveryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a positive amount."))
        return redirect(commitment)
    try:
        services.commitment_deliver(
            commitment=commitment,
            amount=form.cleaned_data["amount"],
            final=form.cleaned_data["final"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Delivery recorded."))
    return redirect(commitment)


@require_POST
@login_required
def commitment_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = _get_commitment_for_user(request, pk)
    require(request, "crm.add_followup")
    form = CommitmentFollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_create(
                by=request.user,
                commitment=commitment,
                project=commitment.partnership.project,
                organization=commitment.partnership.organization,
                **form.cleaned_data,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Follow-up added."))
    else:
        messages.error(request, _("Give the follow-up, who and by when."))
    return redirect(commitment)
