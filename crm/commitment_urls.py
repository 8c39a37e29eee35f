"""URLs of the commitment, agreement and document pages (included by crm/urls.py)."""

from django.urls import path

from crm.views import agreements, commitments, documents

urlpatterns = [
    path("commitments/new/", commitments.commitment_new, name="commitment-new"),
    path("commitments/<int:pk>/", commitments.commitment, name="commitment"),
    path("commitments/<int:pk>/status/", commitments.commitment_status, name="commitment-status"),
    path(
        "commitments/<int:pk>/deliver/", commitments.commitment_deliver, name="commitment-deliver"
    ),
    path(
        "commitments/<int:pk>/follow-up/",
        commitments.commitment_follow_up,
        name="commitment-follow-up",
    ),
    # Before <slug:slug>/, which "new" would otherwise match.
    path("agreements/new/", agreements.agreement_new, name="agreement-new"),
    path("agreements/<slug:slug>/", agreements.agreement, name="agreement"),
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
    path("documents/new/", documents.document_new, name="document-new"),
    path("documents/<int:pk>/download/", documents.document_download, name="document-download"),
]
