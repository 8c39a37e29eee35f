"""URLs of the directory: organisations, people, the roles they hold, and merging duplicates."""

from django.urls import path

from crm.views import directory, duplicates, organization_forms, organizations, people

urlpatterns = [
    path("organizations/", directory.organization_list, name="organizations"),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("organizations/new/", organization_forms.organization_new, name="organization-new"),
    path("organizations/<slug:slug>/", organizations.organization, name="organization"),
    path(
        "organizations/<slug:slug>/edit/",
        organization_forms.organization_edit,
        name="organization-edit",
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
]
