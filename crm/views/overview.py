"""The overview for the unit's leadership: one page, printable, and the same as a PDF."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from crm import clock, overview
from crm.managers import Deadline
from crm.models import Agreement, FollowUp
from crm.views.common import require

# What a PDF needs on the server, said on the page when it is missing.
PDF_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"


def _require_overview(request: HttpRequest) -> None:
    require(
        request,
        "crm.view_project",
        "crm.view_partnership",
        "crm.view_followup",
        "crm.view_commitment",
        "crm.view_agreement",
    )


def _admin(model: str, **filters: Any) -> str:
    return f"{reverse(f'admin:crm_{model}_changelist')}?{urlencode(filters)}"


@dataclass
class Cell:
    """A figure and the list behind it (empty when the reader cannot open it)."""

    value: int
    url: str = ""


def _project_rows(figures: overview.Overview, *, links: bool) -> list[dict[str, Any]]:
    """Return each project's figures with the link behind each one (no query)."""
    open_statuses = ",".join(FollowUp.OPEN_STATUSES)

    def cell(value: int, model: str, **filters: Any) -> Cell:
        return Cell(value, _admin(model, **filters) if links and value else "")

    rows = []
    for row in figures.projects:
        pk = row.project.pk
        history = figures.history.get(pk)
        rows.append(
            {
                "figures": row,
                "project": row.project,
                "funnel": [
                    (
                        stage,
                        stage.label,
                        cell(
                            row.funnel[stage],
                            "partnership",
                            project__id__exact=pk,
                            stage__exact=stage,
                        ),
                        round(100 * row.funnel[stage] / row.funnel_max),
                    )
                    for stage in overview.FUNNEL_STAGES
                ],
                "moves": [
                    (
                        overview.Move.LABELS[move],
                        [
                            cell(
                                row.moves[days][move],
                                "stagechange",
                                partnership__project__id__exact=pk,
                                move=move,
                                within=days,
                            )
                            for days in overview.WINDOWS
                        ],
                    )
                    for move in overview.Move.ALL
                ],
                "agreements": [
                    (
                        label,
                        cell(
                            row.agreements[status],
                            "agreement",
                            projects__id__exact=pk,
                            status__exact=status,
                            is_demo__exact=0,
                        ),
                    )
                    for status, label in Agreement.Status.choices
                ],
                "open": cell(
                    row.follow_ups.get("open", 0),
                    "followup",
                    project__id__exact=pk,
                    status__in=open_statuses,
                    is_demo__exact=0,
                ),
                "overdue": cell(
                    row.follow_ups.get(Deadline.OVERDUE, 0),
                    "followup",
                    project__id__exact=pk,
                    deadline=Deadline.OVERDUE,
                    is_demo__exact=0,
                ),
                "commitments_url": _admin(
                    "commitment", partnership__project__id__exact=pk, is_demo__exact=0
                )
                if links
                else "",
                "history": history,
                "chart": overview.history_chart(history) if history else None,
            }
        )
    return rows


def overview_context(request: HttpRequest) -> dict[str, Any]:
    """Return what the page and the PDF show, in a fixed number of queries."""
    today = clock.today()
    figures = overview.build(today=today)
    links = request.user.is_staff
    owners = [
        (
            owner,
            Cell(
                owner.overdue,
                _admin(
                    "followup",
                    deadline=Deadline.OVERDUE,
                    is_demo__exact=0,
                    **(
                        {"assignee__id__exact": owner.owner.pk}
                        if owner.owner
                        else {"assignee__isnull": "True"}
                    ),
                )
                if links and owner.overdue
                else "",
            ),
        )
        for owner in figures.owners
    ]
    return {
        "today": today,
        "overview": figures,
        "project_rows": _project_rows(figures, links=links),
        "owners": owners,
        "windows": overview.WINDOWS,
        "stages": [(stage, stage.label) for stage in overview.FUNNEL_STAGES],
        "ahead_days": overview.AHEAD_DAYS,
        "agreement_days": overview.AGREEMENT_DAYS,
        "overdue_url": _admin("followup", deadline=Deadline.OVERDUE, is_demo__exact=0)
        if links
        else "",
        "pdf_available": weasyprint_available(),
        "pdf_packages": PDF_PACKAGES,
    }


@require_GET
@login_required
def overview_page(request: HttpRequest) -> HttpResponse:
    _require_overview(request)
    return render(request, "crm/overview.html", overview_context(request))


@cache
def weasyprint_available() -> bool:
    """Tell whether WeasyPrint and the system libraries it loads (Pango) are installed."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@require_GET
@login_required
def overview_pdf(request: HttpRequest) -> HttpResponse:
    _require_overview(request)
    if not weasyprint_available():
        # Said plainly, never a server error: a page saying what to install (200, so
        # that a reader is shown it as any page, and the page prints meanwhile).
        context = {"pdf_packages": PDF_PACKAGES}
        return render(request, "crm/overview_pdf_missing.html", context)
    from weasyprint import HTML

    # On paper: no hover titles, no month-by-month tables (the printed chart
    # says it): WeasyPrint styles every element it is given, hidden or not.
    context = {**overview_context(request), "pdf": True}
    html = render_to_string("crm/overview_pdf.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"overview-{context['today'].isoformat()}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response
