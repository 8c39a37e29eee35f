"""URLs of the agreements: recording one, its page, its status, signatures, obligations."""

from django.urls import path

from crm.views import agreements

urlpatterns = [
    # Before <slug:slug>/, which "new" would otherwise match.
    path("agreements/new/", agreements.agreement_new, name="agreement-new"),
    path("agreements/<slug:slug>/", agreements.agreement, name="agreement"),
    path("agreements/<slug:slug>/edit/", agreements.agreement_edit, name="agreement-edit"),
    path("agreements/<slug:slug>/status/", agreements.agreement_status, name="agreement-status"),
    path(
        "agreements/<slug:slug>/signature/",
        agreements.agreement_signature,
        name="agreement-signature",
    ),
    path(
        "agreements/<slug:slug>/obligation/",
        agreements.agreement_obligation,
        name="agreement-obligation",
    ),
]
