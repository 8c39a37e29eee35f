"""API of partnerships and the log of their stages.

The stage and the owner move by actions (``…/change-stage/``, ``…/assign-owner/``)
that call ``crm.services``; PUT and PATCH change the other fields.
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action

from crm import clock, services
from crm.api.base import (
    VERSIONED_SCHEMA,
    CrmViewSet,
    ETagMixin,
    call_service,
    list_schema,
    record_action,
)
from crm.api.filters import BooleanFilter, IsoDateTimeFilter, UpdatedSinceMixin, UserOrMeFilter
from crm.api.serializers import (
    ChoiceLabelField,
    CleanModelSerializer,
    UserField,
    UserLabelField,
    reason_field,
)
from crm.models import Partnership, StageChange


class PartnershipSerializer(CleanModelSerializer):
    organization_name = serializers.CharField(
        source="organization.name", read_only=True, label=_("organisation (name)")
    )
    project_name = serializers.CharField(
        source="project.name", read_only=True, label=_("project (name)")
    )
    role_label = ChoiceLabelField("role", label=_("role (label)"))
    stage = serializers.ChoiceField(
        choices=Partnership.Stage.choices,
        required=False,
        label=_("stage"),
        help_text=_("Set when the partnership is created; later moves use change-stage."),
    )
    stage_label = ChoiceLabelField("stage", label=_("stage (label)"))
    owner = UserField(
        label=_("owner"),
        help_text=_("Set when the partnership is created; later changes use assign-owner."),
    )
    owner_name = UserLabelField(source="owner", label=_("owner (name)"))
    last_contact_on = serializers.DateField(
        read_only=True, allow_null=True, label=_("last contact")
    )
    contact_due_on = serializers.DateField(
        read_only=True, allow_null=True, label=_("next contact due")
    )

    class Meta:
        model = Partnership
        fields = [
            "id",
            "organization",
            "organization_name",
            "project",
            "project_name",
            "role",
            "role_label",
            "stage",
            "stage_label",
            "owner",
            "owner_name",
            "contact_cadence_days",
            "last_contact_on",
            "contact_due_on",
            "notes",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    state_actions = {
        "stage": _("Move a partnership with the change-stage action, which records the move."),
        "owner": _("Give a partnership to another owner with the assign-owner action."),
    }


class ChangeStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Partnership.Stage.choices, label=_("new stage"))
    note = serializers.CharField(required=False, allow_blank=True, default="", label=_("note"))


class AssignOwnerSerializer(serializers.Serializer):
    owner = UserField(required=True, label=_("new owner"), help_text=_("null: nobody."))
    reason = reason_field(required=False, help_text=_("Kept in the partnership's history."))


class PartnershipFilter(UpdatedSinceMixin):
    stage = filters.MultipleChoiceFilter(choices=Partnership.Stage.choices)
    owner = UserOrMeFilter(label=_("Owner: a user id, or “me”."))
    stale = BooleanFilter(
        method="filter_stale", label=_("Not contacted within the contact cadence.")
    )

    class Meta:
        model = Partnership
        fields = ["project", "organization", "stage", "role"]

    def filter_stale(self, queryset, name, value):
        stale = queryset.stale(today=clock.today())
        return stale if value else queryset.exclude(pk__in=stale.values("pk"))


@extend_schema_view(list=list_schema(PartnershipSerializer), **VERSIONED_SCHEMA)
class PartnershipViewSet(ETagMixin, CrmViewSet):
    """What each organisation is, or may become, for each project.

    The stage moves through change-stage and the owner through assign-owner;
    PUT and PATCH change the other fields.
    """

    serializer_class = PartnershipSerializer
    filterset_class = PartnershipFilter
    ordering_fields = [
        "stage",
        "role",
        "last_contact_on",
        "contact_due_on",
        "created_at",
        "updated_at",
    ]
    ordering = ["project__name", "organization__name", "id"]
    export_basename = "partnerships"
    change_actions = ["change_stage", "assign_owner"]

    def get_queryset(self):
        return Partnership.objects.with_contact_due(today=clock.today()).select_related(
            "organization", "project", "owner"
        )

    def perform_create(self, serializer) -> None:
        # The service records the first stage, as for partnerships added in
        # the admin.
        serializer.instance = call_service(
            services.partnership_create, by=self.request.user, **serializer.validated_data
        )

    @record_action(
        PartnershipSerializer,
        ChangeStageSerializer,
        _("Move the partnership to another stage, recording the move (a stage change)."),
    )
    @action(detail=True, methods=["post"], url_path="change-stage")
    def change_stage(self, request, pk=None, format=None):
        return self.act(
            request,
            ChangeStageSerializer,
            lambda partnership, data, version: services.partnership_change_stage(
                partnership=partnership,
                to_stage=data["stage"],
                note=data["note"],
                by=request.user,
                version=version,
            ),
        )

    @record_action(
        PartnershipSerializer,
        AssignOwnerSerializer,
        _("Give the partnership to another owner (null: nobody), who is told by e-mail."),
    )
    @action(detail=True, methods=["post"], url_path="assign-owner")
    def assign_owner(self, request, pk=None, format=None):
        return self.act(
            request,
            AssignOwnerSerializer,
            lambda partnership, data, version: services.partnership_assign_owner(
                partnership=partnership,
                owner=data["owner"],
                reason=data["reason"],
                by=request.user,
                version=version,
            ),
        )


class StageChangeSerializer(serializers.ModelSerializer):
    partnership_label = serializers.CharField(
        source="partnership.__str__", read_only=True, label=_("partnership (name)")
    )
    organization = serializers.IntegerField(
        source="partnership.organization_id", read_only=True, label=_("organisation")
    )
    project = serializers.IntegerField(
        source="partnership.project_id", read_only=True, label=_("project")
    )
    from_stage_label = ChoiceLabelField("from_stage", label=_("from (label)"))
    to_stage_label = ChoiceLabelField("to_stage", label=_("to (label)"))
    changed_by_name = UserLabelField(source="changed_by", label=_("changed by (name)"))

    class Meta:
        model = StageChange
        fields = [
            "id",
            "partnership",
            "partnership_label",
            "organization",
            "project",
            "from_stage",
            "from_stage_label",
            "to_stage",
            "to_stage_label",
            "changed_at",
            "changed_by",
            "changed_by_name",
            "note",
        ]
        read_only_fields = fields


class StageChangeFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="partnership__project", label=_("Project id."))
    organization = filters.NumberFilter(
        field_name="partnership__organization", label=_("Organisation id.")
    )
    changed_since = IsoDateTimeFilter(field_name="changed_at", lookup_expr="gte")

    class Meta:
        model = StageChange
        fields = ["partnership", "to_stage"]


@extend_schema_view(list=list_schema(StageChangeSerializer))
class StageChangeViewSet(CrmViewSet):
    """The log of stage moves; written only by change-stage."""

    http_method_names = ["get", "head", "options"]
    queryset = StageChange.objects.select_related(
        "partnership__organization", "partnership__project", "changed_by"
    )
    serializer_class = StageChangeSerializer
    filterset_class = StageChangeFilter
    ordering_fields = ["changed_at"]
    ordering = ["-changed_at", "-id"]
    export_basename = "stage-changes"
