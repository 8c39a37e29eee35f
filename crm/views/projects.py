"""A project's pipeline: its partners by stage, its follow-ups and its money."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from crm import clock
from crm.models import Partnership, Project
from crm.views import exports, sections
from crm.views.common import action_context, open_follow_ups, require


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
# Cards shown per column; the rest is one link away, in the admin.
COLUMN_LIMIT = 50


@dataclass
class PipelineColumn:
    stage: str
    label: str
    partnerships: list[Partnership]
    total: int
    more_url: str

    @property
    def more(self) -> int:
        return self.total - len(self.partnerships)


def admin_partnerships_url(**filters) -> str:
    return f"{reverse('admin:crm_partnership_changelist')}?{urlencode(filters)}"


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
    # Each column's count in one query, its first COLUMN_LIMIT cards in one
    # query per stage: the page reads no more partnerships than it shows.
    totals = project.partnerships.aggregate(
        **{stage: Count("pk", filter=Q(stage=stage)) for stage in Partnership.Stage.values}
    )

    def columns(stages):
        return [
            PipelineColumn(
                stage,
                stage.label,
                list(partnerships.filter(stage=stage)[:COLUMN_LIMIT]),
                totals[stage],
                admin_partnerships_url(project__id__exact=project.pk, stage__exact=stage),
            )
            for stage in stages
        ]

    context = {
        "project": project,
        "columns": columns(PIPELINE_STAGES),
        "side_columns": columns(SIDE_STAGES),
        "partnership_count": sum(totals.values()),
        "stage_choices": Partnership.Stage.choices,
        "can_move": request.user.has_perm("crm.change_partnership"),
        "open_follow_ups": open_follow_ups(
            project.follow_ups.open(), project__id__exact=project.pk
        ),
        "follow_up_export_urls": exports.follow_up_export_urls(project=project.code),
        **action_context(request),
    }
    if request.user.has_perm("crm.view_commitment"):
        context.update(sections.project_context(project, on=clock.today()))
    return render(request, "crm/project.html", context)
