"""Likely duplicates, and merging two organisations or two people into one (Coordination only)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm import roles, services
from crm.forms.choosers import ChooserField
from crm.models import Merge, Organization, Person
from crm.search import similar_to_recent

# The records most recently added or changed (per kind) are each compared with
# all the others: duplicates appear when a record is added, and comparing every
# record with every other grows with the square of the table (crm.search.
# similar_to_recent). The page lists at most RECENT * NEAREST pairs per kind.
RECENT = 50
# The most alike names kept for each recent record.
NEAREST = 3
# How alike two names must be (trigram similarity, 0 to 1) to be listed.
NAME_THRESHOLD = 0.45

KINDS = {
    "organizations": {
        "model": Organization,
        "name_sql": "{t}.name",
        "perms": ("crm.view_organization", "crm.change_organization", "crm.delete_organization"),
        "service": services.organization_merge,
    },
    "people": {
        "model": Person,
        "name_sql": "{t}.given_name || ' ' || {t}.family_name",
        "perms": ("crm.view_person", "crm.change_person", "crm.delete_person"),
        "service": services.person_merge,
    },
}


def _require_coordination(request: HttpRequest, *perms: str) -> None:
    if not (roles.is_coordination(request.user) and request.user.has_perms(perms)):
        raise PermissionDenied


def _pairs(kind: str) -> list[tuple]:
    """Return (first, second, score) for the likely duplicates of a kind (two queries)."""
    config = KINDS[kind]
    rows = similar_to_recent(
        config["model"],
        config["name_sql"],
        threshold=NAME_THRESHOLD,
        recent=RECENT,
        nearest=NEAREST,
    )
    ids = {pk for row in rows for pk in row[:2]}
    records = config["model"].objects.in_bulk(ids)
    return [
        (records[a], records[b], round(score * 100))
        for a, b, score in rows
        if a in records and b in records
    ]


class ChooseForm(forms.Form):
    """Two records chosen by hand, for duplicates whose names do not look alike."""

    kept = ChooserField("organizations", label=gettext_lazy("Keep"))
    other = ChooserField("organizations", label=gettext_lazy("Merge into it"))


@require_GET
@login_required
def duplicates(request: HttpRequest) -> HttpResponse:
    _require_coordination(request, *KINDS["organizations"]["perms"])
    choose = ChooseForm(request.GET or None)
    if request.GET and choose.is_valid():
        kept, other = choose.cleaned_data["kept"], choose.cleaned_data["other"]
        if kept != other:
            return redirect("merge", kind="organizations", kept=kept.pk, other=other.pk)
        choose.add_error("other", _("Choose two different records."))
    context = {
        "organization_pairs": _pairs("organizations"),
        "person_pairs": _pairs("people"),
        "recent": RECENT,
        "nearest": NEAREST,
        "merges": Merge.objects.select_related("merged_by")[:20],
        "choose": choose,
    }
    return render(request, "crm/duplicates.html", context)


class MergeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why (kept in the history)"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("For example: “the same company, typed twice”."),
    )


# What a row that points at the record means to the person merging: a link
# between a meeting and an organisation is a meeting, not "an organisation met".
WHAT_MOVES = {
    "affiliation": gettext_lazy("roles"),
    "agreementparty": gettext_lazy("agreements, as a party"),
    "mission": gettext_lazy("missions organised"),
    "interactionorganization": gettext_lazy("meetings"),
    "interactionperson": gettext_lazy("meetings attended"),
    "missionmember": gettext_lazy("missions, as a delegation member"),
}


def _what_moves(record) -> list[tuple[str, int]]:
    """Count what points at ``record``, per kind of row (one query per kind)."""
    counts = []
    for field in services.links_to(type(record)):
        count = field.model._base_manager.filter(**{field.name: record}).count()
        if count:
            label = WHAT_MOVES.get(field.model._meta.model_name)
            counts.append((str(label or field.model._meta.verbose_name_plural), count))
    return counts


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def merge(request: HttpRequest, kind: str, kept: int, other: int) -> HttpResponse:
    config = KINDS.get(kind)
    if config is None:
        raise PermissionDenied
    _require_coordination(request, *config["perms"])
    model = config["model"]
    kept_record = get_object_or_404(model, pk=kept)
    other_record = get_object_or_404(model, pk=other)
    form = MergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            config["service"](
                kept=kept_record,
                other=other_record,
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("“%(other)s” was merged into “%(kept)s”.")
                % {"other": other_record, "kept": kept_record},
            )
            return redirect(kept_record)
    context = {
        "kind": kind,
        "form": form,
        "kept": kept_record,
        "other": other_record,
        "kept_links": _what_moves(kept_record),
        "other_links": _what_moves(other_record),
        "swap_url": reverse("merge", args=[kind, other_record.pk, kept_record.pk]),
    }
    return render(request, "crm/merge.html", context)
