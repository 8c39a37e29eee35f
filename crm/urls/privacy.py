"""URLs of the data-protection officer's answers: a person's data, their erasure."""

from django.urls import path

from crm.views import personal_data

urlpatterns = [
    path("people/<slug:slug>/personal-data/", personal_data.person_data, name="person-data"),
    path("people/<slug:slug>/erase/", personal_data.person_erase, name="person-erase"),
]
