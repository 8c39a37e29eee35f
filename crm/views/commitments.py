"""Staff pages of commitments, agreements and documents, and what other pages show of them.

The context builders (``project_context``, ``organization_context``,
``mission_context``, ``dashboard_context``, ``timeline_rows``) are called by the
project, organisation, mission and dashboard views with one line each; the
views below are the pages of their own. Every list is cut at LIST_LIMIT rows
and loaded in a fixed number of queries; every write goes through
``crm.services``.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from crm import clock, services
from crm.commitment_forms import (
    AgreementForm,
    AgreementStatusForm,
    CommitmentDeliveryForm,
    CommitmentFollowUpForm,
    CommitmentForm,
    CommitmentStatusForm,
    DocumentForm,
    ObligationForm,
    PartySignatureForm,
)
from crm.documents import FileTooLarge, limit_uploads, max_bytes, open_stored_file
from crm.models import (
    Agreement,
    AgreementParty,
    AgreementSignatory,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    Interaction,
    Organization,
    Partnership,
    Project,
)
from crm.money import Totals, commitment_totals
from crm.security import is_ascii_int
from crm.views.common import require

# Rows per list on a page; the rest is in the admin and the API.
LIST_LIMIT = 50
# Agreements ending within these many days are flagged (digest, dashboard).
ENDING_SOON_DAYS = (30, 60)


@dataclass
class Bounded:
    """At most LIST_LIMIT rows, and how many there are in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _bounded(queryset) -> Bounded:
    rows = list(queryset[:LIST_LIMIT])
    total = len(rows) if len(rows) < LIST_LIMIT else queryset.count()
    return Bounded(rows, total)


# The chart: commitments by status, in XOF, with USD beside.


def status_chart(totals: Totals) -> dict[str, Any]:
    """Return the bars of the commitments-by-status chart (no query)."""
    # Narrow enough to stay legible when a phone scales it to 390 px.
    bar_height, gap, label_width, bar_space = 22, 10, 90, 130
    largest = totals.largest_xof or 1
    bars = []
    for index, row in enumerate(totals.rows):
        y = index * (bar_height + gap)
        bars.append(
            {
                "row": row,
                "y": y,
                "text_y": y + bar_height - 6,
                "width": round(bar_space * float((row.xof or 0) / largest)),
            }
        )
    return {
        "bars": bars,
        "bar_height": bar_height,
        "label_width": label_width,
        "amount_x": label_width + bar_space + 8,
        "width": label_width + bar_space + 190,
        "height": max(len(bars) * (bar_height + gap), bar_height),
    }


# What the other pages show.


def _commitments():
    return Commitment.objects.select_related("partnership__organization", "partnership__project")


def _agreements():
    return Agreement.objects.prefetch_related(
        Prefetch(
            "parties",
            queryset=AgreementParty.objects.select_related("organization").order_by(
                "organization__name"
            ),
        )
    )


def _documents():
    # The latest version of each file; older ones are listed on the record's page.
    return Document.objects.filter(next_version__isnull=True).select_related(
        "organization", "agreement", "commitment", "interaction"
    )


def project_context(project: Project, *, on: date) -> dict[str, Any]:
    """Return the commitments, totals, chart, agreements and documents of a project."""
    commitments = _commitments().filter(partnership__project=project)
    totals = commitment_totals(commitments, on=on)
    agreements = _agreements().filter(projects=project)
    return {
        "money": totals,
        "money_chart": status_chart(totals),
        "commitments": _bounded(commitments.order_by("-created_at", "-id")),
        "agreements": _bounded(agreements.order_by("-created_at", "-id")),
        "documents": _bounded(
            _documents()
            .filter(Q(agreement__projects=project) | Q(commitment__partnership__project=project))
            .distinct()
            .order_by("-uploaded_at", "-id")
        ),
        "commitments_for": {"project": project.code},
    }


def organization_context(organization: Organization, *, on: date) -> dict[str, Any]:
    """Return the commitments, totals, agreements and documents of an organisation."""
    commitments = _commitments().filter(partnership__organization=organization)
    totals = commitment_totals(commitments, on=on)
    agreements = _agreements().filter(parties__organization=organization)
    return {
        "money": totals,
        "commitments": _bounded(commitments.order_by("-created_at", "-id")),
        "agreements": _bounded(agreements.order_by("-created_at", "-id")),
        "documents": _bounded(_documents().filter(organization=organization)),
        "commitments_for": {"organization": organization.slug},
    }


def timeline_rows(organization: Organization, *, limit: int) -> list[tuple]:
    """Return (kind, day, moment, item) rows of commitment and agreement moves, and uploads."""
    local = timezone.localdate
    commitment_moves = (
        CommitmentStatusChange.objects.filter(commitment__partnership__organization=organization)
        .select_related("commitment__partnership__project", "changed_by")
        .order_by("-changed_at")[:limit]
    )
    agreement_moves = (
        AgreementStatusChange.objects.filter(agreement__parties__organization=organization)
        .select_related("agreement", "changed_by")
        .order_by("-changed_at")[:limit]
    )
    uploads = (
        Document.objects.filter(organization=organization)
        .select_related("uploaded_by")
        .order_by("-uploaded_at")[:limit]
    )
    rows = [("commitment_change", local(c.changed_at), c.changed_at, c) for c in commitment_moves]
    rows += [("agreement_change", local(c.changed_at), c.changed_at, c) for c in agreement_moves]
    rows += [("document", local(d.uploaded_at), d.uploaded_at, d) for d in uploads]
    return rows


def mission_context(mission) -> dict[str, Any]:
    """Return, per organisation met on the mission, what it committed since the mission began."""
    met = Interaction.objects.filter(mission=mission).values("organizations")
    since = mission.start_on
    commitments = (
        _commitments()
        .filter(partnership__organization__in=met)
        .order_by("partnership__organization__name", "created_at", "id")
    )
    if since:
        commitments = commitments.filter(created_at__date__gte=since)
    rows: dict[Organization, list[Commitment]] = {}
    listed = _bounded(commitments)
    for commitment in listed.rows:
        rows.setdefault(commitment.partnership.organization, []).append(commitment)
    return {"commitments_since": rows.items(), "commitments_since_more": listed.more}


def dashboard_context(user, *, on: date, team: bool) -> dict[str, Any]:
    """Return the agreements ending within 60 days (the user's own unless ``team``)."""
    near, far = ENDING_SOON_DAYS
    ending = (
        Agreement.objects.ending_within(far, today=on)
        .select_related("owner")
        .order_by("expires_on", "id")
    )
    if not team:
        ending = ending.filter(owner=user)
    listed = _bounded(ending)
    for agreement in listed.rows:
        agreement.days_left = (agreement.expires_on - on).days
        agreement.within_near = agreement.days_left <= near
    return {"agreements_ending": listed, "ending_days": ENDING_SOON_DAYS}


# Commitments.


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
            _add_errors(form, error)
        else:
            messages.success(request, _("Commitment recorded as announced."))
            return redirect(commitment)
    context = {"form": form, "project": project, "organization": organization}
    return render(request, "crm/commitment_form.html", context)


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


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


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


# Agreements.


def _get_agreement_for_user(request: HttpRequest, slug: str) -> Agreement:
    require(request, "crm.view_agreement")
    return get_object_or_404(
        Agreement.objects.select_related("owner", "source", "created_by"), slug=slug
    )


def _unique_slug(title: str) -> str:
    base = slugify(title)[:80] or "agreement"
    taken = set(
        Agreement.objects.filter(slug__startswith=base).values_list("slug", flat=True)[:1000]
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@login_required
def agreement_new(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_agreement", "crm.add_agreement")
    initial: dict[str, Any] = {"owner": request.user}
    if code := request.GET.get("project"):
        initial["projects"] = Project.objects.filter(code=code)[:1]
    if slug := request.GET.get("organization"):
        initial["parties"] = Organization.objects.filter(slug=slug)[:1]
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            agreement = services.agreement_create(
                by=request.user, slug=_unique_slug(data["title"]), **data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Agreement recorded as a draft."))
            return redirect(agreement)
    return render(request, "crm/agreement_form.html", {"form": form})


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
        party = form.cleaned_data["party"]
        party.signed_on = form.cleaned_data["signed_on"]
        party.save(update_fields=["signed_on"])
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


# Documents.

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
        limit_uploads(request)
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
            _add_errors(form, error)
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
    return document_response(get_object_or_404(Document, pk=pk))
