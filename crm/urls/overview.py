"""URLs of the overview: the page, and the same as a PDF."""

from django.urls import path

from crm.views import overview

urlpatterns = [
    path("overview/", overview.overview_page, name="overview"),
    path("overview/pdf/", overview.overview_pdf, name="overview-pdf"),
]
