"""A project's pipeline, and moving a partnership to another stage."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import clock, services
from crm.forms import ChangeStageForm
from crm.models import Partnership, Project
from crm.views.common import action_context, next_url, open_follow_ups, require


def _get_project_for_user(request: HttpRequest, code: str) -> Project:
    require(request, "crm.view_project", "crm.view_partnership")
    return get_object_or_404(Project.objects.select_related("programme", "lead"), code=code)


# The pipeline's columns; the two stages off the main path are shown apart.
PIPELINE_STAGES = [
    Partnership.Stage.IDENTIFIED,
    Partnership.Stage.CONTACTED,
    Partnership.Stage.EXPLORING,
    Partnership.Stage.PROPOSAL,
    Partnership.Stage.AGREEMENT,
    Partnership.Stage.ACTIVE,
]
SIDE_STAGES = [Partnership.Stage.ON_HOLD, Partnership.Stage.CLOSED]


@require_GET
@login_required
def project(request: HttpRequest, code: str) -> HttpResponse:
    project = _get_project_for_user(request, code)
    partnerships = (
        project.partnerships.with_staleness(today=clock.today())
        .with_next_follow_up()
        .select_related("organization", "owner")
        .order_by("organization__name")
    )
    by_stage: dict[str, list[Partnership]] = {stage: [] for stage in Partnership.Stage.values}
    for partnership in partnerships:
        by_stage[partnership.stage].append(partnership)

    def columns(stages):
        return [(stage, stage.label, by_stage[stage]) for stage in stages]

    context = {
        "project": project,
        "columns": columns(PIPELINE_STAGES),
        "side_columns": columns(SIDE_STAGES),
        "partnership_count": sum(len(items) for items in by_stage.values()),
        "stage_choices": Partnership.Stage.choices,
        "can_move": request.user.has_perm("crm.change_partnership"),
        "open_follow_ups": open_follow_ups(
            project.follow_ups.open(), project__id__exact=project.pk
        ),
        **action_context(request),
    }
    return render(request, "crm/project.html", context)


@require_POST
@login_required
def partnership_stage(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "crm.change_partnership")
    partnership = get_object_or_404(
        Partnership.objects.select_related("organization", "project"), pk=pk
    )
    form = ChangeStageForm(request.POST)
    if form.is_valid():
        try:
            services.partnership_change_stage(
                partnership=partnership,
                to_stage=form.cleaned_data["stage"],
                note=form.cleaned_data["note"],
                by=request.user,
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
    else:
        messages.error(request, _("Choose a stage."))
    return redirect(next_url(request, partnership.project.get_absolute_url()))
