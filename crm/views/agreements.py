"""The pages of agreements: recording one, its page, its status, signatures, obligations.

Every write goes through ``crm.services``; what other pages show of
agreements is built in ``crm.views.sections``.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import clock, services
from crm.forms import (
    AgreementEditForm,
    AgreementForm,
    AgreementStatusForm,
    ObligationForm,
    PartySignatureForm,
)
from crm.models import Agreement, AgreementSignatory
from crm.slugs import unique_slug
from crm.views.common import add_errors, edit_page, prefill_from_url, require
from crm.views.sections import LIST_LIMIT


def _get_agreement_for_user(request: HttpRequest, slug: str) -> Agreement:
    require(request, "crm.view_agreement")
    return get_object_or_404(
        Agreement.objects.select_related("owner", "source", "created_by"), slug=slug
    )


@login_required
def agreement_new(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_agreement", "crm.add_agreement")
    initial: dict[str, Any] = {"owner": request.user}
    # The organisation named in the URL is a party; the project is the one named,
    # else that organisation's only project (as the other forms pre-fill it).
    named = prefill_from_url(request)
    if "project" in named:
        initial["projects"] = [named["project"]]
    if "organization" in named:
        initial["parties"] = [named["organization"]]
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            agreement = services.agreement_create(
                by=request.user, slug=unique_slug(Agreement, data["title"]), **data
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Agreement recorded as a draft."))
            return redirect(agreement)
    return render(request, "crm/agreement_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def agreement_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Correct an agreement, its parties and projects; its status keeps its own actions."""
    require(request, "crm.view_agreement", "crm.change_agreement")
    agreement = get_object_or_404(Agreement, slug=slug)
    return edit_page(
        request,
        AgreementEditForm(request.POST or None, instance=agreement),
        template="crm/agreement_form.html",
        context={"editing": True, "cancel_url": agreement.get_absolute_url()},
        saved_message=lambda saved: _("“%(title)s” saved.") % {"title": saved.title},
        save=lambda form: services.agreement_update(
            agreement=agreement, by=request.user, **form.to_service()
        ),
    )


@require_GET
@login_required
def agreement(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _get_agreement_for_user(request, slug)
    parties = agreement.parties.select_related("organization").prefetch_related(
        Prefetch(
            "signatories",
            queryset=AgreementSignatory.objects.select_related("affiliation__person"),
        )
    )
    can_move = request.user.has_perm("crm.change_agreement")
    context = {
        "agreement": agreement,
        "parties": parties,
        "projects": agreement.projects.order_by("name"),
        "amendments": agreement.amendments.all()[:LIST_LIMIT],
        "changes": agreement.status_changes.select_related("changed_by")[:LIST_LIMIT],
        "documents": agreement.documents.select_related("uploaded_by").order_by("-uploaded_at")[
            :LIST_LIMIT
        ],
        "obligations": agreement.follow_ups.select_related("assignee", "project").order_by(
            "due_on"
        )[:LIST_LIMIT],
        "can_move": can_move,
        "status_form": AgreementStatusForm(agreement=agreement),
        "signature_form": PartySignatureForm(agreement=agreement),
        "obligation_form": ObligationForm(agreement=agreement, initial={"assignee": request.user})
        if request.user.has_perm("crm.add_followup")
        else None,
    }
    return render(request, "crm/agreement.html", context)


@require_POST
@login_required
def agreement_status(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _get_agreement_for_user(request, slug)
    require(request, "crm.change_agreement")
    form = AgreementStatusForm(request.POST, agreement=agreement)
    if not form.is_valid():
        messages.error(request, _("Choose one of the statuses offered."))
        return redirect(agreement)
    try:
        services.agreement_change_status(
            agreement=agreement,
            to_status=form.cleaned_data["status"],
            effective_on=form.cleaned_data["effective_on"],
            note=form.cleaned_data["note"],
            by=request.user,
            today=clock.today(),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Status changed."))
    return redirect(agreement)


@require_POST
@login_required
def agreement_signature(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _get_agreement_for_user(request, slug)
    require(request, "crm.change_agreement")
    form = PartySignatureForm(request.POST, agreement=agreement)
    if form.is_valid():
        services.agreement_party_sign(
            party=form.cleaned_data["party"],
            signed_on=form.cleaned_data["signed_on"],
            by=request.user,
        )
        messages.success(request, _("Signature date recorded."))
    else:
        messages.error(request, _("Choose a party and a date."))
    return redirect(agreement)


@require_POST
@login_required
def agreement_obligation(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _get_agreement_for_user(request, slug)
    require(request, "crm.add_followup")
    form = ObligationForm(request.POST, agreement=agreement)
    if form.is_valid():
        try:
            services.agreement_obligation_create(
                agreement=agreement, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Obligation added as a follow-up."))
    else:
        messages.error(request, _("Give the obligation, its project, who and by when."))
    return redirect(agreement)
