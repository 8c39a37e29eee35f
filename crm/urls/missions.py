"""URLs of the missions: their list and each one's report."""

from django.urls import path

from crm.views import directory, missions

urlpatterns = [
    path("missions/", directory.mission_list, name="missions"),
    path("missions/<slug:slug>/", missions.mission, name="mission"),
]
