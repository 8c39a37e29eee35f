"""URLs of the documents: uploading one, downloading it."""

from django.urls import path

from crm.views import documents

urlpatterns = [
    path("documents/new/", documents.document_new, name="document-new"),
    path("documents/<int:pk>/download/", documents.document_download, name="document-download"),
]
