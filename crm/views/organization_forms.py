"""Adding and correcting an organisation, and giving it a partnership, from the staff pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm import services
from crm.forms import OrganizationForm, PartnershipForm
from crm.likely_matches import organizations_like
from crm.models import Organization
from crm.views.common import add_errors, require, save_versioned


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organization_new(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_organization", "crm.add_organization")
    form = OrganizationForm(request.POST or None)
    likely = []
    if request.method == "POST" and form.is_valid():
        # An organisation that may exist already is shown first; "Add it anyway"
        # (confirm_new) creates it.
        if not request.POST.get("confirm_new"):
            likely = organizations_like(form.cleaned_data["name"], form.cleaned_data["short_name"])
        if not likely:
            saved = save_versioned(request, form)
            if saved is not None:
                messages.success(request, _("%(name)s added.") % {"name": saved})
                return redirect(saved)
    context = {
        "form": form,
        "title": _("Add an organisation"),
        "cancel_url": reverse("organizations"),
        "likely": likely,
    }
    return render(request, "crm/record_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organization_edit(request: HttpRequest, slug: str) -> HttpResponse:
    require(request, "crm.view_organization", "crm.change_organization")
    organization = get_object_or_404(Organization, slug=slug)
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        saved = save_versioned(request, form)
        if saved is not None:
            messages.success(request, _("%(name)s saved.") % {"name": saved})
            return redirect(saved)
    context = {
        "form": form,
        "title": _("Edit %(name)s") % {"name": organization},
        "cancel_url": organization.get_absolute_url(),
    }
    return render(request, "crm/record_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def partnership_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a partnership with its owner; its first stage is recorded by the service."""
    require(request, "crm.view_organization", "crm.add_partnership")
    organization = get_object_or_404(Organization, slug=slug)
    form = PartnershipForm(
        request.POST or None, organization=organization, initial={"owner": request.user}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.partnership_create(
                by=request.user, organization=organization, **form.cleaned_data
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request,
                _("%(organization)s is now a partner of %(project)s.")
                % {"organization": organization, "project": form.cleaned_data["project"]},
            )
            return redirect(organization)
    context = {
        "form": form,
        "title": _("Add a partnership with %(name)s") % {"name": organization},
        "cancel_url": organization.get_absolute_url(),
    }
    return render(request, "crm/record_form.html", context)
