"""API of missions and their meetings (interactions): who met whom, when, about what."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm import services
from crm.api.base import CrmViewSet, list_schema
from crm.api.filters import UpdatedSinceMixin
from crm.api.serializers import ChoiceLabelField, CleanModelSerializer, IdField
from crm.models import Interaction, Mission, Organization, Person, Project
from crm.roles import staff_members


class MissionSerializer(CleanModelSerializer):
    organizer_name = serializers.CharField(
        source="organizer.name",
        read_only=True,
        allow_null=True,
        label=_("organiser (name)"),
    )

    class Meta:
        model = Mission
        fields = [
            "id",
            "slug",
            "title",
            "start_on",
            "end_on",
            "date_precision",
            "organizer",
            "organizer_name",
            "cities",
            "objectives",
            "description",
            "source",
        ]


class MissionFilter(filters.FilterSet):
    class Meta:
        model = Mission
        fields = ["organizer"]


@extend_schema_view(list=list_schema(MissionSerializer))
class MissionViewSet(CrmViewSet):
    """Missions of the delegation."""

    queryset = Mission.objects.select_related("organizer")
    serializer_class = MissionSerializer
    filterset_class = MissionFilter
    ordering_fields = ["start_on", "title"]
    ordering = ["-start_on", "id"]
    export_basename = "missions"


class InteractionSerializer(CleanModelSerializer):
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    mission_title = serializers.CharField(
        source="mission.title",
        read_only=True,
        allow_null=True,
        label=_("mission (title)"),
    )
    organizations = IdField(
        many=True, queryset=Organization.objects.all(), label=_("organisations")
    )
    organization_names = serializers.SerializerMethodField(label=_("organisations (names)"))
    people = IdField(
        many=True, queryset=Person.objects.all(), required=False, label=_("people met")
    )
    staff = IdField(
        many=True,
        # Colleagues of the unit, as the pages and the admin offer them.
        queryset=staff_members(),
        required=False,
        label=_("staff present"),
    )
    projects = IdField(
        many=True, queryset=Project.objects.all(), required=False, label=_("projects discussed")
    )
    created_by = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, label=_("created by")
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "slug",
            "kind",
            "kind_label",
            "mission",
            "mission_title",
            "occurred_on",
            "date_precision",
            "starts_at",
            "cancelled_at",
            "location",
            "city",
            "title",
            "summary",
            "outcome",
            "organizations",
            "organization_names",
            "people",
            "staff",
            "projects",
            "source",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_organization_names(self, interaction) -> list[str]:
        # From the prefetched organisations: no query per row.
        return [organization.name for organization in interaction.organizations.all()]

    def validate_organizations(self, value):
        if not value:
            raise ValidationError(_("Name at least one organisation."))
        return value

    def create(self, validated_data):
        # One transaction with the participants, like the admin and the pages.
        return services.interaction_log(
            by=validated_data.pop("created_by", None), **validated_data
        )


class InteractionFilter(UpdatedSinceMixin):
    organization = filters.NumberFilter(
        field_name="organizations", distinct=True, label=_("Organisation id.")
    )
    project = filters.NumberFilter(field_name="projects", distinct=True, label=_("Project id."))
    date_after = filters.DateFilter(
        field_name="occurred_on", lookup_expr="gte", label=_("On or after this date.")
    )
    date_before = filters.DateFilter(
        field_name="occurred_on", lookup_expr="lte", label=_("On or before this date.")
    )

    class Meta:
        model = Interaction
        fields = ["mission", "kind"]


@extend_schema_view(list=list_schema(InteractionSerializer))
class InteractionViewSet(CrmViewSet):
    """Meetings, calls, e-mails, visits and events, with who was there."""

    queryset = Interaction.objects.select_related("mission", "created_by").prefetch_related(
        "organizations", "people", "staff", "projects"
    )
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    ordering_fields = ["occurred_on", "title", "created_at", "updated_at"]
    ordering = ["-occurred_on", "-id"]
    export_basename = "interactions"

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user)
