"""URLs of the choosers' lists (crm.views.choosers)."""

from django.urls import path

from crm.views import choosers

urlpatterns = [
    path("choose/<slug:kind>/", choosers.choose, name="choose"),
]
