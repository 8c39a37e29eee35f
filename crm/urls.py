from django.contrib import admin
from django.urls import include, path

from crm import calendar, views
from crm.api import pages

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
    path("organizations/<slug:slug>/", views.organization, name="organization"),
    path("projects/<slug:code>/", views.project, name="project"),
    path("partnerships/<int:pk>/stage/", views.partnership_stage, name="partnership-stage"),
    path("missions/<slug:slug>/", views.mission, name="mission"),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("interactions/new/", views.interaction_new, name="interaction-new"),
    path("interactions/<slug:slug>/", views.interaction, name="interaction"),
    path(
        "interactions/<slug:slug>/apply-plan/",
        views.interaction_apply_plan,
        name="interaction-apply-plan",
    ),
    path("follow-ups/new/", views.follow_up_new, name="follow-up-new"),
    *(
        path(
            f"follow-ups/<int:pk>/{action}/",
            views.follow_up_action,
            {"action": action},
            name=f"follow-up-{action}",
        )
        for action in views.FOLLOW_UP_ACTIONS
    ),
    # Commitments, agreements and documents (crm/commitment_urls.py).
    path("", include("crm.commitment_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api.urls")),
    path("account/tokens/", pages.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", pages.token_revoke, name="api-token-revoke"),
    path("account/calendar/regenerate/", pages.calendar_regenerate, name="calendar-regenerate"),
    path("calendar/<str:secret>.ics", calendar.calendar_feed, name="calendar-feed"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
