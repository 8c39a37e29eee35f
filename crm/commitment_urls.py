"""URLs of the commitment, agreement and document pages (included by crm/urls.py)."""

from django.urls import path

from crm.views import commitments as views

urlpatterns = [
    path("commitments/new/", views.commitment_new, name="commitment-new"),
    path("commitments/<int:pk>/", views.commitment, name="commitment"),
    path("commitments/<int:pk>/status/", views.commitment_status, name="commitment-status"),
    path("commitments/<int:pk>/deliver/", views.commitment_deliver, name="commitment-deliver"),
    path(
        "commitments/<int:pk>/follow-up/",
        views.commitment_follow_up,
        name="commitment-follow-up",
    ),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("agreements/new/", views.agreement_new, name="agreement-new"),
    path("agreements/<slug:slug>/", views.agreement, name="agreement"),
    path("agreements/<slug:slug>/status/", views.agreement_status, name="agreement-status"),
    path(
        "agreements/<slug:slug>/signature/",
        views.agreement_signature,
        name="agreement-signature",
    ),
    path(
        "agreements/<slug:slug>/obligation/",
        views.agreement_obligation,
        name="agreement-obligation",
    ),
    path("documents/new/", views.document_new, name="document-new"),
    path("documents/<int:pk>/download/", views.document_download, name="document-download"),
]
