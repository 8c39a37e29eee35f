from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from crm.api import (
    agreements,
    commitments,
    directory,
    documents,
    exchange_rates,
    follow_ups,
    jobs,
    mail,
    missions,
    partnerships,
    programme,
)

router = DefaultRouter()
router.register("organizations", directory.OrganizationViewSet, basename="organization")
router.register("people", directory.PersonViewSet, basename="person")
router.register("affiliations", directory.AffiliationViewSet, basename="affiliation")
router.register("projects", programme.ProjectViewSet, basename="project")
router.register("missions", missions.MissionViewSet, basename="mission")
router.register("interactions", missions.InteractionViewSet, basename="interaction")
router.register("partnerships", partnerships.PartnershipViewSet, basename="partnership")
router.register("follow-ups", follow_ups.FollowUpViewSet, basename="followup")
router.register("stage-changes", partnerships.StageChangeViewSet, basename="stagechange")
router.register("commitments", commitments.CommitmentViewSet, basename="commitment")
router.register(
    "commitment-status-changes",
    commitments.CommitmentStatusChangeViewSet,
    basename="commitmentstatuschange",
)
router.register("agreements", agreements.AgreementViewSet, basename="agreement")
router.register(
    "agreement-status-changes",
    agreements.AgreementStatusChangeViewSet,
    basename="agreementstatuschange",
)
router.register("documents", documents.DocumentViewSet, basename="document")
router.register("mail", mail.MailMessageViewSet, basename="mailmessage")
router.register("exchange-rates", exchange_rates.ExchangeRateViewSet, basename="exchangerate")

# Swagger UI and ReDoc write style attributes and <style> elements of their
# own, and draw icons from data: URLs: their pages alone allow them. Scripts
# stay the site's own files: Swagger UI's starting script is fetched from the
# same address (?script), not written inline (the "split" view), and ReDoc
# takes no options (options would be written inline).
SWAGGER_UI = csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["data:"]})
# ReDoc runs its search in a worker made from a blob: URL, which only a script
# already running on the page can make.
REDOC = csp_update(
    {"style-src": [UNSAFE_INLINE], "img-src": ["data:"], "worker-src": [SELF, "blob:"]}
)

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Pages for people in a browser: to the login page first, not a 401.
    path(
        "docs/",
        login_required(SWAGGER_UI(SpectacularSwaggerSplitView.as_view(url_name="api:schema"))),
        name="docs",
    ),
    path(
        "redoc/",
        login_required(REDOC(SpectacularRedocView.as_view(url_name="api:schema"))),
        name="redoc",
    ),
    path("jobs/<uuid:pk>/", jobs.ExportJobView.as_view(), name="export-job"),
    path(
        "jobs/<uuid:pk>/download/",
        jobs.ExportJobDownloadView.as_view(),
        name="export-job-download",
    ),
    path("", include(router.urls)),
]
