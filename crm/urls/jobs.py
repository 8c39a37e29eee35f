from django.urls import path

from crm.views import jobs

urlpatterns = [
    path("jobs/", jobs.job_list, name="jobs"),
    path("exports/<uuid:pk>/", jobs.export_job, name="export-job"),
    path("exports/<uuid:pk>/download/", jobs.export_job_download, name="export-job-download"),
]
