"""URLs of data protection: a person's data, their erasure, the register of processing."""

from django.urls import path

from crm.views import personal_data

urlpatterns = [
    path("people/<slug:slug>/personal-data/", personal_data.person_data, name="person-data"),
    path("people/<slug:slug>/erase/", personal_data.person_erase, name="person-erase"),
    path("privacy/register/", personal_data.privacy_register, name="privacy-register"),
    path("privacy/retention/", personal_data.retention_due, name="privacy-retention"),
]
