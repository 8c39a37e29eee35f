"""URLs of the partnerships: adding one to an organisation, moving one to another stage."""

from django.urls import path

from crm.views import organization_forms, projects

urlpatterns = [
    path(
        "organizations/<slug:slug>/partnerships/new/",
        organization_forms.partnership_new,
        name="partnership-new",
    ),
    path("partnerships/<int:pk>/stage/", projects.partnership_stage, name="partnership-stage"),
]
