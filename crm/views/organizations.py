"""One organisation's page: its people, partnerships, open follow-ups and timeline."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm import clock
from crm.models import Interaction, MailMessage, Merge, Organization, StageChange
from crm.views import exports, sections
from crm.views.common import (
    action_context,
    merged_record_redirect,
    open_follow_ups,
    require,
)
from crm.views.history import record_changes, snoozes_and_reassignments

# Each source of an organisation's timeline is cut at this many rows, newest
# first, so that a long relationship still loads in three bounded queries.
TIMELINE_LIMIT = 100

# The e-mails a meeting was filed from, with their attachments: two queries for
# a whole timeline.
MAIL_PREFETCH = Prefetch(
    "mail_messages",
    queryset=MailMessage.objects.defer("body", "summary").prefetch_related("documents"),
)


@dataclass
class TimelineEntry:
    # interaction, follow_up_opened, follow_up_done, stage_change, follow_up_event
    # (a snooze or a reassignment), record_change (an edit of the organisation),
    # merge (a duplicate merged into it), and from sections.timeline_rows:
    # commitment_change, agreement_change, document (an upload)
    kind: str
    day: date
    moment: datetime | None
    item: Any

    @property
    def sort_key(self) -> tuple:
        # On one day, what has a time (follow-ups, stage changes) usually came
        # out of that day's meeting, so it sorts above it.
        return (self.day, self.moment is not None, self.moment.timestamp() if self.moment else 0)


def _get_organization_for_user(request: HttpRequest, slug: str) -> Organization:
    require(request, "crm.view_organization")
    return get_object_or_404(Organization.objects.select_related("source"), slug=slug)


def _organization_timeline(organization: Organization) -> list[TimelineEntry]:
    """Return the organisation's story, newest first.

    Interactions, follow-ups with their snoozes and reassignments, stage
    changes, edits, duplicates merged into it, and what
    ``sections.timeline_rows`` adds (commitment and agreement moves, uploads).
    Each source is one bounded query (two for the snoozes).
    """
    interactions = (
        Interaction.objects.filter(organizations=organization)
        .select_related("mission")
        .prefetch_related(MAIL_PREFETCH)
        .order_by("-occurred_on", "-id")[:TIMELINE_LIMIT]
    )
    follow_ups = organization.follow_ups.select_related(
        "project", "created_by", "completed_by"
    ).order_by("-created_at")[:TIMELINE_LIMIT]
    changes = (
        StageChange.objects.filter(partnership__organization=organization)
        .select_related("partnership__project", "changed_by")
        .order_by("-changed_at")[:TIMELINE_LIMIT]
    )
    local = timezone.localdate
    entries = [TimelineEntry("interaction", i.occurred_on, None, i) for i in interactions]
    for follow_up in follow_ups:
        entries.append(
            TimelineEntry(
                "follow_up_opened", local(follow_up.created_at), follow_up.created_at, follow_up
            )
        )
        if follow_up.completed_at:
            entries.append(
                TimelineEntry(
                    "follow_up_done",
                    local(follow_up.completed_at),
                    follow_up.completed_at,
                    follow_up,
                )
            )
    entries += [
        TimelineEntry("stage_change", local(c.changed_at), c.changed_at, c) for c in changes
    ]
    entries += [
        TimelineEntry("record_change", local(change.at), change.at, change)
        for change in record_changes(organization, limit=TIMELINE_LIMIT)
    ]
    entries += [
        TimelineEntry("follow_up_event", local(event.at), event.at, event)
        for event in snoozes_and_reassignments(organization.follow_ups.all(), limit=TIMELINE_LIMIT)
    ]
    merges = (
        Merge.objects.filter(kind=Merge.Kind.ORGANIZATION, kept_id=organization.pk)
        .select_related("merged_by")
        .order_by("-merged_at", "-id")[:TIMELINE_LIMIT]
    )
    entries += [TimelineEntry("merge", local(m.merged_at), m.merged_at, m) for m in merges]
    entries += [
        TimelineEntry(*row) for row in sections.timeline_rows(organization, limit=TIMELINE_LIMIT)
    ]
    entries.sort(key=lambda entry: entry.sort_key, reverse=True)
    return entries


@require_GET
@login_required
def organization(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        organization = _get_organization_for_user(request, slug)
    except Http404:
        # Merged into another: its old address (bookmarks, links in mail) leads there.
        return merged_record_redirect(Merge.Kind.ORGANIZATION, Organization, slug)
    on = clock.today()
    context = {
        "organization": organization,
        # Current roles (no end) first: NULLs sort first on SQLite but last on
        # PostgreSQL unless told.
        "affiliations": organization.affiliations.select_related("person").order_by(
            F("end_on").asc(nulls_first=True), "-is_primary", "person__family_name"
        ),
        "partnerships": organization.partnerships.with_staleness(today=on)
        .with_next_follow_up()
        .select_related("project", "owner")
        .order_by("project__name"),
        "open_follow_ups": open_follow_ups(
            organization.follow_ups.open(), organization__id__exact=organization.pk
        ),
        "follow_up_export_urls": exports.follow_up_export_urls(organization=organization.slug),
        "timeline": _organization_timeline(organization),
        **action_context(request),
    }
    if request.user.has_perm("crm.view_commitment"):
        context.update(sections.organization_context(organization, on=on))
    return render(request, "crm/organization.html", context)
