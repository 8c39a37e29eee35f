"""The calendar feed's page: served to calendar programs by the secret in its URL."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_safe

from crm import clock
from crm.audit import filters_of, record_export
from crm.calendar import build_calendar
from crm.models import ExportLog, StaffProfile


@require_safe
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """Serve the calendar whose URL carries ``secret``; 404 if unknown or revoked."""
    profile = StaffProfile.for_calendar_secret(secret)
    # Someone whose role was taken away reads no more than they could logged in.
    if profile is None or not profile.user.has_perm("crm.view_followup"):
        raise Http404
    with translation.override(profile.language):
        calendar = build_calendar(
            profile.user,
            host=request.get_host().split(":")[0],
            today=clock.today(),
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    record_export(
        request,
        user=profile.user,
        kind=ExportLog.Kind.CALENDAR,
        resource="calendar",
        filters=filters_of(request.GET),
        row_count=len(calendar.walk("VEVENT")),
    )
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="compact-crm.ics"'
    # The URL is a secret: keep it out of shared caches.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
