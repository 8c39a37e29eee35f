"""API of the Compact's projects."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from crm.api.base import CrmViewSet, list_schema
from crm.api.serializers import ChoiceLabelField, CleanModelSerializer, UserField, UserLabelField
from crm.models import Project


class ProjectSerializer(CleanModelSerializer):
    programme_name = serializers.CharField(
        source="programme.name", read_only=True, label=_("programme (name)")
    )
    sector_label = ChoiceLabelField("sector", label=_("sector (label)"))
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    lead = UserField(label=_("lead"))
    lead_name = UserLabelField(source="lead", label=_("lead (name)"))

    class Meta:
        model = Project
        fields = [
            "id",
            "code",
            "name",
            "programme",
            "programme_name",
            "sector",
            "sector_label",
            "status",
            "status_label",
            "description",
            "lead",
            "lead_name",
            "source",
        ]


class ProjectFilter(filters.FilterSet):
    class Meta:
        model = Project
        fields = ["programme", "sector", "status"]


@extend_schema_view(list=list_schema(ProjectSerializer))
class ProjectViewSet(CrmViewSet):
    """The Compact projects."""

    queryset = Project.objects.select_related("programme", "lead")
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    ordering_fields = ["name", "code", "status"]
    ordering = ["name", "id"]
    export_basename = "projects"
