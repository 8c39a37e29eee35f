"""API of the dated exchange rates (XOF per unit) that convert commitments' amounts."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from crm.api.base import CrmViewSet, list_schema
from crm.api.serializers import CleanModelSerializer, UserLabelField
from crm.models import ExchangeRate


class ExchangeRateSerializer(CleanModelSerializer):
    created_by_name = UserLabelField(source="created_by", label=_("entered by (name)"))

    class Meta:
        model = ExchangeRate
        fields = [
            "id",
            "currency",
            "rate_on",
            "xof_per_unit",
            "note",
            "created_by_name",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_currency(self, value):
        if value in ("XOF", "EUR"):
            raise serializers.ValidationError(
                _("XOF and EUR are at the fixed parity; they take no dated rate.")
            )
        return value


class ExchangeRateFilter(filters.FilterSet):
    rate_after = filters.DateFilter(field_name="rate_on", lookup_expr="gte")
    rate_before = filters.DateFilter(field_name="rate_on", lookup_expr="lte")

    class Meta:
        model = ExchangeRate
        fields = ["currency"]


@extend_schema_view(list=list_schema(ExchangeRateSerializer))
class ExchangeRateViewSet(CrmViewSet):
    """Dated rates (XOF per unit); XOF↔EUR is the fixed parity and needs none."""

    queryset = ExchangeRate.objects.select_related("created_by")
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    ordering_fields = ["rate_on", "currency"]
    ordering = ["currency", "-rate_on", "id"]
    export_basename = "exchange-rates"

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user)
