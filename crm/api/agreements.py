"""API of agreements (NDAs, letters of intent, MoUs…), their parties and the log of their statuses.

Statuses are read-only on PUT/PATCH; they move by POST actions (``…/submit/``,
``…/sign/``, ``…/bring-into-force/``…) that call ``crm.services``.
"""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from crm import clock, services
from crm.api.base import CrmViewSet, call_service, list_schema
from crm.api.filters import BooleanFilter, UpdatedSinceMixin
from crm.api.serializers import (
    ChoiceLabelField,
    CleanModelSerializer,
    IdField,
    StatusNoteSerializer,
    UserField,
    UserLabelField,
)
from crm.models import Agreement, AgreementParty, AgreementStatusChange, Organization


class PartySerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = AgreementParty
        fields = ["organization", "organization_name", "signed_on"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class PartyNamesField(serializers.Field):
    """The parties' names, for the export."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, agreement):
        return "; ".join(party.organization.name for party in agreement.parties.all())


class AgreementSerializer(CleanModelSerializer):
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    status = serializers.CharField(
        read_only=True,
        label=_("status"),
        help_text=_("Moves by the submit, sign, bring-into-force, expire and terminate actions."),
    )
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    party_organizations = IdField(
        queryset=Organization.objects.all(),
        many=True,
        required=False,
        write_only=True,
        label=_("parties (organisation ids)"),
        help_text=_("On creation: the organisations bound by the agreement."),
    )
    parties = PartySerializer(many=True, read_only=True, label=_("parties"))
    party_names = PartyNamesField(label=_("parties (names)"))
    owner = UserField(label=_("owner"))
    owner_name = UserLabelField(source="owner", label=_("owner (name)"))

    class Meta:
        model = Agreement
        fields = [
            "id",
            "slug",
            "kind",
            "kind_label",
            "title",
            "summary",
            "status",
            "status_label",
            "projects",
            "party_organizations",
            "parties",
            "party_names",
            "owner",
            "owner_name",
            "effective_on",
            "expires_on",
            "source",
            "is_demo",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"projects": {"required": False}}

    def validate_party_organizations(self, value):
        # The parties are set on creation; an update that sends them back
        # unchanged (a client's PUT of what it created) is accepted.
        if self.instance is not None:
            current = set(self.instance.parties.values_list("organization_id", flat=True))
            if {organization.pk for organization in value} != current:
                raise serializers.ValidationError(
                    _(
                        "The parties are set when the agreement is created; "
                        "add or remove one in the agreement's page of the admin."
                    )
                )
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            # Validated above; not a field of the record, so not written by an update.
            attrs.pop("party_organizations", None)
        return attrs


class AgreementFilter(UpdatedSinceMixin):
    status = filters.MultipleChoiceFilter(choices=Agreement.Status.choices)
    project = filters.NumberFilter(field_name="projects", distinct=True, label=_("Project id."))
    organization = filters.NumberFilter(
        field_name="parties__organization", distinct=True, label=_("Organisation id.")
    )
    expires_before = filters.DateFilter(field_name="expires_on", lookup_expr="lte")
    ending_within = filters.NumberFilter(
        method="filter_ending_within",
        min_value=0,
        max_value=3650,
        label=_("Signed or in force, and ending within this many days."),
    )
    is_demo = BooleanFilter()

    class Meta:
        model = Agreement
        fields = ["kind", "owner", "is_demo"]

    def filter_ending_within(self, queryset, name, value):
        return queryset.ending_within(int(value), today=clock.today())


class EffectiveSerializer(StatusNoteSerializer):
    effective_on = serializers.DateField(required=False, allow_null=True, default=None)


@extend_schema_view(list=list_schema(AgreementSerializer))
class AgreementViewSet(CrmViewSet):
    """NDAs, letters of intent, MoUs…; statuses move by the actions."""

    serializer_class = AgreementSerializer
    filterset_class = AgreementFilter
    ordering_fields = ["created_at", "updated_at", "expires_on", "title"]
    ordering = ["-created_at", "-id"]
    export_basename = "agreements"
    change_actions = ["submit", "reopen", "sign", "bring_into_force", "expire", "terminate"]

    def get_queryset(self):
        return Agreement.objects.select_related("owner").prefetch_related(
            "projects",
            Prefetch(
                "parties",
                queryset=AgreementParty.objects.select_related("organization").order_by(
                    "organization__name"
                ),
            ),
        )

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        parties = data.pop("party_organizations", [])
        projects = data.pop("projects", [])
        serializer.instance = call_service(
            services.agreement_create,
            by=self.request.user,
            parties=parties,
            projects=projects,
            **data,
        )

    def _move(self, request, to_status, payload_class=StatusNoteSerializer):
        agreement = self.get_object()
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        call_service(
            services.agreement_change_status,
            agreement=agreement,
            to_status=to_status,
            by=request.user,
            today=clock.today(),
            **payload.validated_data,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=agreement.pk)).data)

    @extend_schema(request=StatusNoteSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None, format=None):
        """Put the draft under review."""
        return self._move(request, Agreement.Status.UNDER_REVIEW)

    @extend_schema(request=StatusNoteSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None, format=None):
        """Send an agreement under review back to draft."""
        return self._move(request, Agreement.Status.DRAFT)

    @extend_schema(request=StatusNoteSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None, format=None):
        """Mark it signed: every party (two at least) has its signature date."""
        return self._move(request, Agreement.Status.SIGNED)

    @extend_schema(request=EffectiveSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"], url_path="bring-into-force")
    def bring_into_force(self, request, pk=None, format=None):
        """Bring a signed agreement into force, from its effective date."""
        return self._move(request, Agreement.Status.IN_FORCE, EffectiveSerializer)

    @extend_schema(request=StatusNoteSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def expire(self, request, pk=None, format=None):
        """Mark it expired, on or after its expiry date."""
        return self._move(request, Agreement.Status.EXPIRED)

    @extend_schema(request=StatusNoteSerializer, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None, format=None):
        """End it before its term."""
        return self._move(request, Agreement.Status.TERMINATED)


class AgreementStatusChangeSerializer(serializers.ModelSerializer):
    from_status_label = ChoiceLabelField("from_status", label=_("from (label)"))
    to_status_label = ChoiceLabelField("to_status", label=_("to (label)"))
    changed_by_name = UserLabelField(source="changed_by", label=_("changed by (name)"))

    class Meta:
        model = AgreementStatusChange
        fields = [
            "id",
            "agreement",
            "from_status",
            "from_status_label",
            "to_status",
            "to_status_label",
            "changed_at",
            "changed_by",
            "changed_by_name",
            "note",
        ]
        read_only_fields = fields


@extend_schema_view(list=list_schema(AgreementStatusChangeSerializer))
class AgreementStatusChangeViewSet(CrmViewSet):
    """The log of agreement moves; written only by the actions."""

    http_method_names = ["get", "head", "options"]
    queryset = AgreementStatusChange.objects.select_related("changed_by")
    serializer_class = AgreementStatusChangeSerializer
    filterset_fields = ["agreement", "to_status"]
    ordering_fields = ["changed_at"]
    ordering = ["-changed_at", "-id"]
    export_basename = "agreement-status-changes"
