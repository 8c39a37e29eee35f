"""URLs of the projects: their list and each one's pipeline."""

from django.urls import path

from crm.views import directory, projects

urlpatterns = [
    path("projects/", directory.project_list, name="projects"),
    path("projects/<slug:code>/", projects.project, name="project"),
]
