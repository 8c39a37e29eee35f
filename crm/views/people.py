"""One person's page, and adding or correcting a person and the roles they hold."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm import services
from crm.audit import record_person_read
from crm.forms import AffiliationForm, NewPersonForm, PersonForm
from crm.likely_matches import people_like
from crm.models import Affiliation, Interaction, Merge, Organization, Person
from crm.views import exports
from crm.views.common import (
    action_context,
    add_errors,
    edit_page,
    merged_record_redirect,
    open_follow_ups,
    require,
    save_versioned,
)
from crm.views.organizations import MAIL_PREFETCH

# Meetings listed on a person's page, newest first.
MEETING_LIMIT = 50


def _get_person_for_user(request: HttpRequest, slug: str) -> Person:
    require(request, "crm.view_person")
    return get_object_or_404(Person.objects.select_related("source"), slug=slug)


@require_GET
@login_required
def person(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        person = _get_person_for_user(request, slug)
    except Http404:
        # Merged into another: its old address leads there.
        return merged_record_redirect(Merge.Kind.PERSON, Person, slug)
    record_person_read(person, reader=request.user)
    meetings = list(
        Interaction.objects.filter(people=person)
        .select_related("mission")
        .prefetch_related(MAIL_PREFETCH)
        .order_by("-occurred_on", "-id")[: MEETING_LIMIT + 1]
    )
    context = {
        "person": person,
        "affiliations": person.affiliations.select_related("organization").order_by(
            F("end_on").asc(nulls_first=True), "-is_primary", "organization__name"
        ),
        "meetings": meetings[:MEETING_LIMIT],
        "more_meetings": len(meetings) > MEETING_LIMIT,
        "open_follow_ups": open_follow_ups(person.follow_ups.open(), person__id__exact=person.pk),
        "follow_up_export_urls": exports.follow_up_export_urls(person=person.slug),
        **action_context(request),
    }
    return render(request, "crm/person.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def person_new(request: HttpRequest) -> HttpResponse:
    """Add a person, with the role they hold when it is known (one submit)."""
    require(request, "crm.view_person", "crm.add_person", "crm.add_affiliation")
    organization = Organization.objects.filter(slug=request.GET.get("organization") or "").first()
    form = NewPersonForm(
        request.POST or None, initial={"organization": organization}, prefix="person"
    )
    likely = []
    if request.method == "POST" and form.is_valid():
        if not form.is_blank() and not request.POST.get("confirm_new"):
            # Someone who may be on file already is shown first; "Add it anyway"
            # (confirm_new) creates the person.
            data = form.cleaned_data
            likely = people_like(data["given_name"], data["family_name"], data["email"])
        if form.is_blank():
            form.add_error("family_name", _("Give at least the family name."))
        elif not likely:
            try:
                person = services.person_create(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, _("%(name)s added.") % {"name": person})
                return redirect(person)
    context = {
        "form": form,
        "title": _("Add a person"),
        "cancel_url": organization.get_absolute_url() if organization else reverse("people"),
        "likely": likely,
    }
    return render(request, "crm/record_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def person_edit(request: HttpRequest, slug: str) -> HttpResponse:
    person = _get_person_for_user(request, slug)
    require(request, "crm.change_person")
    return edit_page(
        request,
        PersonForm(request.POST or None, instance=person),
        template="crm/record_form.html",
        context={
            "title": _("Edit %(name)s") % {"name": person},
            "cancel_url": person.get_absolute_url(),
        },
        saved_message=lambda saved: _("%(name)s saved.") % {"name": saved},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def affiliation_new(request: HttpRequest) -> HttpResponse:
    """Add a role, from a person's page (?person=) or an organisation's (?organization=)."""
    require(request, "crm.view_affiliation", "crm.add_affiliation")
    fixed = {}
    person = Person.objects.filter(slug=request.GET.get("person") or "").first()
    organization = Organization.objects.filter(slug=request.GET.get("organization") or "").first()
    if person is not None:
        fixed["person"] = person
    if organization is not None:
        fixed["organization"] = organization
    form = AffiliationForm(request.POST or None, fixed=fixed)
    if request.method == "POST" and form.is_valid():
        saved = save_versioned(request, form)
        if saved is not None:
            messages.success(request, _("Role added: %(role)s.") % {"role": saved})
            return redirect(person or organization or saved.person)
    back = person or organization
    context = {
        "form": form,
        "title": _("Add a role"),
        "cancel_url": back.get_absolute_url() if back else reverse("people"),
    }
    return render(request, "crm/record_form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def affiliation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a role, or end it by giving it an end date (roles are never deleted)."""
    require(request, "crm.view_affiliation", "crm.change_affiliation")
    affiliation = get_object_or_404(
        Affiliation.objects.select_related("person", "organization"), pk=pk
    )
    form = AffiliationForm(request.POST or None, instance=affiliation)
    if request.method == "POST" and form.is_valid():
        saved = save_versioned(request, form)
        if saved is not None:
            messages.success(request, _("Role saved: %(role)s.") % {"role": saved})
            return redirect(affiliation.person)
    context = {
        "form": form,
        "title": _("Edit a role"),
        "intro": _("To end a role, give it an end date: roles are kept, never deleted."),
        "cancel_url": affiliation.person.get_absolute_url(),
    }
    return render(request, "crm/record_form.html", context)
