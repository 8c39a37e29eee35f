from django.contrib import admin
from django.urls import include, path

from crm import security
from crm.views import (
    accounts,
    calendar,
    dashboard,
    directory,
    duplicates,
    follow_ups,
    interactions,
    missions,
    organization_forms,
    organizations,
    people,
    projects,
    search,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("search/", search.search, name="search"),
    path("organizations/", directory.organization_list, name="organizations"),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("organizations/new/", organization_forms.organization_new, name="organization-new"),
    path("organizations/<slug:slug>/", organizations.organization, name="organization"),
    path(
        "organizations/<slug:slug>/edit/",
        organization_forms.organization_edit,
        name="organization-edit",
    ),
    path(
        "organizations/<slug:slug>/partnerships/new/",
        organization_forms.partnership_new,
        name="partnership-new",
    ),
    path("duplicates/", duplicates.duplicates, name="duplicates"),
    path(
        "duplicates/<str:kind>/<int:kept>/<int:other>/",
        duplicates.merge,
        name="merge",
    ),
    path("people/", directory.person_list, name="people"),
    path("people/new/", people.person_new, name="person-new"),
    path("people/<slug:slug>/", people.person, name="person"),
    path("people/<slug:slug>/edit/", people.person_edit, name="person-edit"),
    path("roles/new/", people.affiliation_new, name="affiliation-new"),
    path("roles/<int:pk>/edit/", people.affiliation_edit, name="affiliation-edit"),
    path("projects/", directory.project_list, name="projects"),
    path("projects/<slug:code>/", projects.project, name="project"),
    path("partnerships/<int:pk>/stage/", projects.partnership_stage, name="partnership-stage"),
    path("missions/", directory.mission_list, name="missions"),
    path("missions/<slug:slug>/", missions.mission, name="mission"),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("interactions/new/", interactions.interaction_new, name="interaction-new"),
    path("interactions/<slug:slug>/", interactions.interaction, name="interaction"),
    path(
        "interactions/<slug:slug>/apply-plan/",
        interactions.interaction_apply_plan,
        name="interaction-apply-plan",
    ),
    path("follow-ups/new/", follow_ups.follow_up_new, name="follow-up-new"),
    path("follow-ups/<int:pk>/", follow_ups.follow_up_page, name="follow-up"),
    path("follow-ups/<int:pk>/edit/", follow_ups.follow_up_edit, name="follow-up-edit"),
    *(
        path(
            f"follow-ups/<int:pk>/{action}/",
            follow_ups.follow_up_action,
            {"action": action},
            name=f"follow-up-{action}",
        )
        for action in follow_ups.FOLLOW_UP_ACTIONS
    ),
    # Commitments, agreements and documents (crm/commitment_urls.py).
    path("", include("crm.commitment_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api.urls")),
    path("account/tokens/", accounts.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", accounts.token_revoke, name="api-token-revoke"),
    path("account/calendar/regenerate/", accounts.calendar_regenerate, name="calendar-regenerate"),
    path("calendar/<str:secret>.ics", calendar.calendar_feed, name="calendar-feed"),
    path("accounts/", include("crm.auth_urls")),
    path("healthz", security.healthz, name="healthz"),
    # Django's set_language, which also saves a logged-in user's choice.
    path("i18n/setlang/", accounts.set_language, name="set_language"),
]

# A 404 that explains itself (a document whose file is missing) shows its message.
handler404 = "crm.views.errors.page_not_found"
