"""URLs of a staff member's own account: API tokens, the calendar feed, the weekly summary."""

from django.urls import path

from crm.views import accounts, calendar

urlpatterns = [
    path("account/tokens/", accounts.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", accounts.token_revoke, name="api-token-revoke"),
    path("account/calendar/regenerate/", accounts.calendar_regenerate, name="calendar-regenerate"),
    path(
        "account/weekly-summary/",
        accounts.weekly_summary_preference,
        name="weekly-summary-preference",
    ),
    path("calendar/<str:secret>.ics", calendar.calendar_feed, name="calendar-feed"),
]
