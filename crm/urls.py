from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from crm import calendar
from crm.api import pages

urlpatterns = [
    # Until the staff pages exist, the admin is the way in.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api.urls")),
    path("account/tokens/", pages.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", pages.token_revoke, name="api-token-revoke"),
    path("account/calendar/regenerate/", pages.calendar_regenerate, name="calendar-regenerate"),
    path("calendar/<str:secret>.ics", calendar.calendar_feed, name="calendar-feed"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
