from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from crm.api import commitments, views

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("people", views.PersonViewSet, basename="person")
router.register("affiliations", views.AffiliationViewSet, basename="affiliation")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("missions", views.MissionViewSet, basename="mission")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("partnerships", views.PartnershipViewSet, basename="partnership")
router.register("follow-ups", views.FollowUpViewSet, basename="followup")
router.register("stage-changes", views.StageChangeViewSet, basename="stagechange")
router.register("commitments", commitments.CommitmentViewSet, basename="commitment")
router.register(
    "commitment-status-changes",
    commitments.CommitmentStatusChangeViewSet,
    basename="commitmentstatuschange",
)
router.register("agreements", commitments.AgreementViewSet, basename="agreement")
router.register(
    "agreement-status-changes",
    commitments.AgreementStatusChangeViewSet,
    basename="agreementstatuschange",
)
router.register("documents", commitments.DocumentViewSet, basename="document")
router.register("exchange-rates", commitments.ExchangeRateViewSet, basename="exchangerate")

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
