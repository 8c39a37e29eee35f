"""One partnership's page, and what staff change there: its stage, its owner, its cadence.

Each change goes through its service (``partnership_change_stage``,
``partnership_assign_owner``, ``record_update`` for the cadence), with the
version the page was shown: a change decided on an old state is refused.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import clock, services
from crm.forms import (
    PartnershipCadenceForm,
    PartnershipEditForm,
    PartnershipOwnerForm,
    PartnershipStageForm,
)
from crm.models import Agreement, FollowUp, Interaction, Partnership
from crm.versions import StaleVersion, version_of
from crm.views import exports
from crm.views.common import (
    action_context,
    edit_page,
    next_url,
    open_follow_ups,
    require,
)

# Rows of each list on the page; the rest is on the organisation's page or in the admin.
LIMIT = 20


def _partnership(pk: int, *, on):
    return get_object_or_404(
        Partnership.objects.with_staleness(today=on)
        .with_next_follow_up()
        .select_related("organization", "project", "owner"),
        pk=pk,
    )


@require_GET
@login_required
def partnership(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "crm.view_partnership")
    on = clock.today()
    partnership = _partnership(pk, on=on)
    organization, project = partnership.organization, partnership.project
    version = version_of(partnership)
    context = {
        "partnership": partnership,
        "stage_changes": partnership.stage_changes.select_related("changed_by").order_by(
            "-changed_at", "-id"
        )[:LIMIT],
        "open_follow_ups": open_follow_ups(
            FollowUp.objects.open().filter(organization=organization, project=project),
            organization__id__exact=organization.pk,
            project__id__exact=project.pk,
        ),
        "follow_up_export_urls": exports.follow_up_export_urls(
            organization=organization.slug, project=project.code
        ),
        "meetings": Interaction.objects.filter(organizations=organization, projects=project)
        .distinct()
        .order_by("-occurred_on", "-id")[:LIMIT],
        "stage_choices": Partnership.Stage.choices,
        "owner_form": PartnershipOwnerForm(
            initial={"owner": partnership.owner, "version": version}
        ),
        "cadence_form": PartnershipCadenceForm(
            initial={"contact_cadence_days": partnership.contact_cadence_days, "version": version}
        ),
        "can_change": request.user.has_perm("crm.change_partnership"),
        **action_context(request),
    }
    if request.user.has_perm("crm.view_commitment"):
        context["commitments"] = partnership.commitments.order_by("-created_at", "-id")[:LIMIT]
    if request.user.has_perm("crm.view_agreement"):
        context["agreements"] = (
            Agreement.objects.filter(parties__organization=organization, projects=project)
            .distinct()
            .order_by("-created_at", "-id")[:LIMIT]
        )
    return render(request, "crm/partnership.html", context)


def _change(request: HttpRequest, pk: int, form_class, change, done: str) -> HttpResponse:
    """Check ``form_class`` on the POST, call ``change(partnership, data)``, say how it went.

    A change decided on an old version, or refused by its service, is said and
    nothing is saved; either way the reader goes back to the partnership's page.
    """
    require(request, "crm.view_partnership", "crm.change_partnership")
    partnership = get_object_or_404(Partnership, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(partnership)
    try:
        change(partnership, form.cleaned_data)
    except StaleVersion as stale:
        # Changed by someone else since the page was shown: their change stands.
        messages.error(request, stale.message(reload_url=partnership.get_absolute_url()))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect(partnership)


@require_POST
@login_required
def partnership_owner(request: HttpRequest, pk: int) -> HttpResponse:
    def assign(partnership: Partnership, data: dict) -> None:
        services.partnership_assign_owner(
            partnership=partnership,
            owner=data["owner"],
            by=request.user,
            reason=data["reason"],
            version=data["version"],
        )

    return _change(request, pk, PartnershipOwnerForm, assign, _("Owner saved."))


@require_POST
@login_required
def partnership_cadence(request: HttpRequest, pk: int) -> HttpResponse:
    def set_cadence(partnership: Partnership, data: dict) -> None:
        services.record_update(
            instance=partnership,
            changes={"contact_cadence_days": data["contact_cadence_days"]},
            by=request.user,
            version=data["version"],
        )

    return _change(request, pk, PartnershipCadenceForm, set_cadence, _("Contact cadence saved."))


@require_POST
@login_required
def partnership_stage(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "crm.change_partnership")
    partnership = get_object_or_404(
        Partnership.objects.select_related("organization", "project"), pk=pk
    )
    form = PartnershipStageForm(request.POST)
    if form.is_valid():
        try:
            services.partnership_change_stage(
                partnership=partnership,
                to_stage=form.cleaned_data["stage"],
                note=form.cleaned_data["note"],
                by=request.user,
                version=form.cleaned_data["version"],
            )
        except StaleVersion as stale:
            # Moved or edited by someone else since the pipeline was shown:
            # a move decided on the old stage must not be laid over theirs.
            messages.error(
                request,
                stale.message(
                    reload_url=next_url(request, partnership.project.get_absolute_url())
                ),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("%(organization)s moved to “%(stage)s”.")
                % {
                    "organization": partnership.organization,
                    "stage": Partnership.Stage(form.cleaned_data["stage"]).label,
                },
            )
    elif "version" in form.errors:
        messages.error(request, " ".join(form.errors["version"]))
    else:
        messages.error(request, _("Choose a stage."))
    return redirect(next_url(request, partnership.project.get_absolute_url()))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def partnership_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a partnership's role, notes and source (``record_update``, versioned)."""
    require(request, "crm.view_partnership", "crm.change_partnership")
    partnership = get_object_or_404(
        Partnership.objects.select_related("organization", "project"), pk=pk
    )
    return edit_page(
        request,
        PartnershipEditForm(request.POST or None, instance=partnership),
        template="crm/record_form.html",
        context={
            "title": _("Edit the partnership of %(organization)s in %(project)s")
            % {"organization": partnership.organization, "project": partnership.project},
            "cancel_url": reverse("partnership", args=[partnership.pk]),
        },
        saved_message=lambda saved: _("Partnership saved."),
    )
