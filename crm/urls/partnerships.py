"""URLs of the partnerships: a page each, a new one, its correction, stage, owner and cadence."""

from django.urls import path

from crm.views import organization_forms, partnerships

urlpatterns = [
    path(
        "organizations/<slug:slug>/partnerships/new/",
        organization_forms.partnership_new,
        name="partnership-new",
    ),
    path("partnerships/<int:pk>/", partnerships.partnership, name="partnership"),
    path("partnerships/<int:pk>/edit/", partnerships.partnership_edit, name="partnership-edit"),
    path("partnerships/<int:pk>/stage/", partnerships.partnership_stage, name="partnership-stage"),
    path("partnerships/<int:pk>/owner/", partnerships.partnership_owner, name="partnership-owner"),
    path(
        "partnerships/<int:pk>/cadence/",
        partnerships.partnership_cadence,
        name="partnership-cadence",
    ),
]
