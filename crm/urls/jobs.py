from django.urls import path

from crm.views import imports, jobs

urlpatterns = [
    path("jobs/", jobs.job_list, name="jobs"),
    path("exports/<uuid:pk>/", jobs.export_job, name="export-job"),
    path("exports/<uuid:pk>/download/", jobs.export_job_download, name="export-job-download"),
    path("imports/new/", imports.import_new, name="import-new"),
    path("imports/<uuid:pk>/", imports.import_job, name="import-job"),
    path("imports/<uuid:pk>/confirm/", imports.import_job_confirm, name="import-job-confirm"),
    path("imports/<uuid:pk>/report/", imports.import_job_report, name="import-job-report"),
]
