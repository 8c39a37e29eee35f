from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from crm.api import (
    agreements,
    commitments,
    directory,
    documents,
    exchange_rates,
    follow_ups,
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

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Pages for people in a browser: to the login page first, not a 401.
    path(
        "docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc/",
        login_required(SpectacularRedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
    path("", include(router.urls)),
]
