"""API of commitments (what partners promised), their totals and the log of their statuses.

Statuses are read-only on PUT/PATCH; they move by POST actions (``…/confirm/``,
``…/deliver/``…) that call ``crm.services``, as pretix does for orders.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, DecimalField, ExpressionWrapper, F, Value, When
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
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
    UserLabelField,
)
from crm.models import Commitment, CommitmentStatusChange
from crm.money import commitment_totals, rate_tables

# The day whose rates convert the amounts: a name of this module, so that tests
# can pin it (tests/test_api_commitments.py) while the rest of the request keeps
# the clock.
today = clock.today

XOF_AMOUNT = DecimalField(max_digits=30, decimal_places=6)


def with_converted_amounts(queryset, *, on):
    """Annotate ``amount_xof`` and ``amount_usd`` at the rates of ``on`` (one query for rates).

    A demonstration commitment is converted at the rates for demonstration
    amounts, a real one at real rates only (``crm.money.rate_tables``).
    """
    tables = dict(zip((False, True), rate_tables(on), strict=True))
    amount_xof = Case(
        *(
            When(currency=currency, is_demo=is_demo, then=F("amount") * Value(rate.xof_per_unit))
            for is_demo, rates in tables.items()
            for currency, rate in rates.items()
        ),
        default=None,
        output_field=XOF_AMOUNT,
    )
    usd_per_xof = Case(
        *(
            When(is_demo=is_demo, then=Value(rates["USD"].xof_per_unit))
            for is_demo, rates in tables.items()
            if "USD" in rates
        ),
        default=None,
        output_field=XOF_AMOUNT,
    )
    amount_usd = ExpressionWrapper(amount_xof / usd_per_xof, output_field=XOF_AMOUNT)
    return queryset.annotate(amount_xof=amount_xof, amount_usd=amount_usd)


class CommitmentSerializer(CleanModelSerializer):
    organization = serializers.IntegerField(
        source="partnership.organization_id", read_only=True, label=_("organisation")
    )
    organization_name = serializers.CharField(
        source="partnership.organization.name", read_only=True, label=_("organisation (name)")
    )
    project = serializers.IntegerField(
        source="partnership.project_id", read_only=True, label=_("project")
    )
    project_name = serializers.CharField(
        source="partnership.project.name", read_only=True, label=_("project (name)")
    )
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    status = serializers.CharField(
        read_only=True,
        label=_("status"),
        help_text=_("Moves by the confirm, deliver, withdraw and lapse actions."),
    )
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    amount_xof = serializers.DecimalField(
        max_digits=30,
        decimal_places=0,
        rounding=ROUND_HALF_UP,
        read_only=True,
        allow_null=True,
        label=_("amount in XOF"),
        help_text=_("At the fixed parity or the latest dated rate; null without a rate."),
    )
    amount_usd = serializers.DecimalField(
        max_digits=30,
        decimal_places=2,
        rounding=ROUND_HALF_UP,
        read_only=True,
        allow_null=True,
        label=_("amount in USD"),
    )

    class Meta:
        model = Commitment
        fields = [
            "id",
            "partnership",
            "organization",
            "organization_name",
            "project",
            "project_name",
            "kind",
            "kind_label",
            "description",
            "amount",
            "currency",
            "amount_xof",
            "amount_usd",
            "amount_delivered",
            "expected_on",
            "status",
            "status_label",
            "source",
            "is_demo",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["amount_delivered", "created_at", "updated_at"]


class CommitmentFilter(UpdatedSinceMixin):
    status = filters.MultipleChoiceFilter(choices=Commitment.Status.choices)
    project = filters.NumberFilter(field_name="partnership__project", label=_("Project id."))
    organization = filters.NumberFilter(
        field_name="partnership__organization", label=_("Organisation id.")
    )
    expected_after = filters.DateFilter(field_name="expected_on", lookup_expr="gte")
    expected_before = filters.DateFilter(field_name="expected_on", lookup_expr="lte")
    is_demo = BooleanFilter()

    class Meta:
        model = Commitment
        fields = ["partnership", "kind", "currency", "is_demo"]


class ConfirmSerializer(StatusNoteSerializer):
    source = IdField(
        queryset=Commitment._meta.get_field("source").related_model.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        label=_("source"),
    )


class DeliverSerializer(StatusNoteSerializer):
    # Omitted: null, which the service accepts with final (a commitment in kind)
    # and otherwise refuses, naming the field.
    amount = serializers.DecimalField(
        max_digits=17,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        min_value=Decimal("0.01"),
    )
    final = serializers.BooleanField(required=False, default=False)


class TotalRowSerializer(serializers.Serializer):
    status = serializers.CharField()
    status_label = serializers.CharField(source="label")
    count = serializers.IntegerField()
    xof = serializers.DecimalField(max_digits=30, decimal_places=0, allow_null=True)
    usd = serializers.DecimalField(max_digits=30, decimal_places=2, allow_null=True)
    unconverted = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=2)
    )


class RateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    xof_per_unit = serializers.DecimalField(max_digits=18, decimal_places=6)
    on = serializers.DateField(allow_null=True, help_text=_("Null for the fixed parity."))
    fixed = serializers.BooleanField()


class TotalsSerializer(serializers.Serializer):
    on = serializers.DateField()
    rows = TotalRowSerializer(many=True)
    demo_rows = TotalRowSerializer(
        many=True,
        help_text=_(
            "The same totals for demonstration commitments, never included in rows "
            "(empty when there are none)."
        ),
    )
    rates = RateSerializer(many=True)
    rounding = serializers.CharField()


ROUNDING_NOTE = "Exact conversion, rounded half up once: XOF to the franc, USD to the cent."


@extend_schema_view(list=list_schema(CommitmentSerializer))
class CommitmentViewSet(CrmViewSet):
    """What partners promised, per partnership; statuses move by the actions."""

    serializer_class = CommitmentSerializer
    filterset_class = CommitmentFilter
    ordering_fields = ["created_at", "updated_at", "expected_on", "amount", "status"]
    ordering = ["-created_at", "-id"]
    export_basename = "commitments"
    change_actions = ["confirm", "deliver", "withdraw", "lapse"]
    filtered_actions = ("totals",)

    def get_queryset(self):
        queryset = Commitment.objects.select_related(
            "partnership__organization", "partnership__project"
        )
        if self.action == "totals" or getattr(self, "swagger_fake_view", False):
            # The schema generator needs no rates (and may run without a database).
            return queryset
        return with_converted_amounts(queryset, on=today())

    def perform_create(self, serializer) -> None:
        serializer.instance = call_service(
            services.commitment_create, by=self.request.user, **serializer.validated_data
        )

    def _moved(self, commitment):
        instance = self.get_queryset().get(pk=commitment.pk)
        return Response(self.get_serializer(instance).data)

    def _move(self, request, to_status: str, payload_class=StatusNoteSerializer):
        commitment = self.get_object()
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        call_service(
            services.commitment_change_status,
            commitment=commitment,
            to_status=to_status,
            by=request.user,
            **payload.validated_data,
        )
        return self._moved(commitment)

    @extend_schema(request=ConfirmSerializer, responses={200: CommitmentSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None, format=None):
        """Confirm the commitment: it needs a source (given here or set) or a document."""
        return self._move(request, Commitment.Status.CONFIRMED, ConfirmSerializer)

    @extend_schema(request=StatusNoteSerializer, responses={200: CommitmentSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None, format=None):
        """Record that the partner withdrew the commitment."""
        return self._move(request, Commitment.Status.WITHDRAWN)

    @extend_schema(request=StatusNoteSerializer, responses={200: CommitmentSerializer})
    @action(detail=True, methods=["post"])
    def lapse(self, request, pk=None, format=None):
        """Record that the commitment lapsed."""
        return self._move(request, Commitment.Status.LAPSED)

    @extend_schema(request=DeliverSerializer, responses={200: CommitmentSerializer})
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None, format=None):
        """Record a part delivered; delivered in full when the parts reach the amount or final."""
        commitment = self.get_object()
        payload = DeliverSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        call_service(
            services.commitment_deliver,
            commitment=commitment,
            by=request.user,
            **payload.validated_data,
        )
        return self._moved(commitment)

    @extend_schema(responses={200: TotalsSerializer}, filters=True)
    @action(detail=False, methods=["get"])
    def totals(self, request, format=None):
        """Totals by status in XOF and USD of the filtered commitments, with the rates used."""
        queryset = self.filter_queryset(self.get_queryset())
        totals = commitment_totals(queryset, on=today())
        data = {
            "on": totals.on,
            "rows": totals.rows,
            "demo_rows": totals.demo.rows if totals.demo else [],
            "rates": totals.rates,
            "rounding": ROUNDING_NOTE,
        }
        return Response(TotalsSerializer(data).data)


class CommitmentStatusChangeSerializer(serializers.ModelSerializer):
    from_status_label = ChoiceLabelField("from_status", label=_("from (label)"))
    to_status_label = ChoiceLabelField("to_status", label=_("to (label)"))
    changed_by_name = UserLabelField(source="changed_by", label=_("changed by (name)"))

    class Meta:
        model = CommitmentStatusChange
        fields = [
            "id",
            "commitment",
            "from_status",
            "from_status_label",
            "to_status",
            "to_status_label",
            "amount",
            "changed_at",
            "changed_by",
            "changed_by_name",
            "note",
        ]
        read_only_fields = fields


class CommitmentStatusChangeFilter(filters.FilterSet):
    project = filters.NumberFilter(
        field_name="commitment__partnership__project", label=_("Project id.")
    )

    class Meta:
        model = CommitmentStatusChange
        fields = ["commitment", "to_status"]


@extend_schema_view(list=list_schema(CommitmentStatusChangeSerializer))
class CommitmentStatusChangeViewSet(CrmViewSet):
    """The log of commitment moves; written only by the actions."""

    http_method_names = ["get", "head", "options"]
    queryset = CommitmentStatusChange.objects.select_related("changed_by")
    serializer_class = CommitmentStatusChangeSerializer
    filterset_class = CommitmentStatusChangeFilter
    ordering_fields = ["changed_at"]
    ordering = ["-changed_at", "-id"]
    export_basename = "commitment-status-changes"
