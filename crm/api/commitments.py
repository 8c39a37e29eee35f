"""API of commitments, agreements, documents and exchange rates.

Statuses are read-only on PUT/PATCH; they move by POST actions (``…/confirm/``,
``…/deliver/``, ``…/sign/``…) that call ``crm.services``, as pretix does for
orders. Documents are uploaded as multipart (refused past the size limit while
they arrive) and downloaded through ``…/download/`` only, with the permission
checked.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Case, DecimalField, ExpressionWrapper, F, Prefetch, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from crm import services
from crm.api.filters import BooleanFilter, UpdatedSinceMixin
from crm.api.serializers import (
    ChoiceLabelField,
    CleanModelSerializer,
    UserField,
    UserLabelField,
    django_errors_to_drf,
)
from crm.api.views import CrmViewSet, list_schema
from crm.documents import LimitedUploadHandler
from crm.models import (
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    ExchangeRate,
    Organization,
)
from crm.money import commitment_totals, rates_on
from crm.views.documents import document_response


def today():
    return timezone.localdate()


def _service(call, **kwargs):
    try:
        return call(**kwargs)
    except DjangoValidationError as error:
        raise django_errors_to_drf(error) from error


# Exchange rates.


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


# Commitments.

XOF_AMOUNT = DecimalField(max_digits=30, decimal_places=6)


def with_converted_amounts(queryset, *, on):
    """Annotate ``amount_xof`` and ``amount_usd`` at the rates of ``on`` (one query for rates)."""
    rates = rates_on(on)
    whens = [
        When(currency=currency, then=F("amount") * Value(rate.xof_per_unit))
        for currency, rate in rates.items()
    ]
    amount_xof = Case(*whens, default=None, output_field=XOF_AMOUNT)
    usd = rates.get("USD")
    amount_usd = (
        ExpressionWrapper(amount_xof / Value(usd.xof_per_unit), output_field=XOF_AMOUNT)
        if usd
        else Value(None, output_field=XOF_AMOUNT)
    )
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


class StatusNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", label=_("note"))


class ConfirmSerializer(StatusNoteSerializer):
    source = serializers.PrimaryKeyRelatedField(
        queryset=Commitment._meta.get_field("source").related_model.objects.all(),
        required=False,
        allow_null=True,
        label=_("source"),
    )


class DeliverSerializer(StatusNoteSerializer):
    amount = serializers.DecimalField(
        max_digits=17, decimal_places=2, required=False, allow_null=True, min_value=Decimal("0.01")
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

    def get_queryset(self):
        queryset = Commitment.objects.select_related(
            "partnership__organization", "partnership__project"
        )
        if self.action == "totals" or getattr(self, "swagger_fake_view", False):
            # The schema generator needs no rates (and may run without a database).
            return queryset
        return with_converted_amounts(queryset, on=today())

    def perform_create(self, serializer) -> None:
        serializer.instance = _service(
            services.commitment_create, by=self.request.user, **serializer.validated_data
        )

    def _moved(self, commitment):
        instance = self.get_queryset().get(pk=commitment.pk)
        return Response(self.get_serializer(instance).data)

    def _move(self, request, to_status: str, payload_class=StatusNoteSerializer):
        commitment = self.get_object()
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        _service(
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
        _service(
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


# Agreements.


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
    party_organizations = serializers.PrimaryKeyRelatedField(
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

    def update(self, instance, validated_data):
        validated_data.pop("party_organizations", None)
        return super().update(instance, validated_data)


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
        return queryset.ending_within(int(value), today=today())


class EffectiveSerializer(StatusNoteSerializer):
    effective_on = serializers.DateField(required=False, allow_null=True)


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
        serializer.instance = _service(
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
        _service(
            services.agreement_change_status,
            agreement=agreement,
            to_status=to_status,
            by=request.user,
            today=today(),
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


# Documents.


class LimitedMultiPartParser(MultiPartParser):
    """Multipart, refused with 413 as soon as the file passes the limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        request.upload_handlers = [LimitedUploadHandler(request), *request.upload_handlers]
        return super().parse(stream, media_type, parser_context)


class DocumentSerializer(serializers.ModelSerializer):
    file = serializers.FileField(
        write_only=True,
        required=False,
        label=_("file"),
        help_text=_("On upload only (multipart). PDF, DOCX, XLSX, ODT, PNG or JPEG."),
    )
    content_type_label = ChoiceLabelField("content_type", label=_("type (label)"))
    uploaded_by_name = UserLabelField(source="uploaded_by", label=_("uploaded by (name)"))
    download_url = serializers.SerializerMethodField(label=_("download URL"))

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "file",
            "original_name",
            "content_type",
            "content_type_label",
            "size",
            "sha256",
            "revision",
            "previous_version",
            "organization",
            "interaction",
            "agreement",
            "commitment",
            "notes",
            "is_demo",
            "uploaded_by_name",
            "uploaded_at",
            "updated_at",
            "download_url",
        ]
        read_only_fields = [
            "original_name",
            "content_type",
            "size",
            "sha256",
            "revision",
            "uploaded_at",
            "updated_at",
        ]

    def get_download_url(self, document) -> str:
        return f"/api/v1/documents/{document.pk}/download/"

    def validate(self, attrs):
        if self.instance is None and not attrs.get("file"):
            raise serializers.ValidationError({"file": [_("Upload a file.")]})
        if self.instance is not None:
            # The file and what it belongs to never change: a new file is a new version.
            frozen = {"file", "previous_version", "organization", "interaction", "agreement"}
            frozen.add("commitment")
            changed = sorted(
                name
                for name in frozen & attrs.keys()
                if name == "file" or attrs[name] != getattr(self.instance, name)
            )
            if changed:
                raise serializers.ValidationError(
                    {name: [_("Upload a new version instead.")] for name in changed}
                )
        return attrs


class DocumentFilter(UpdatedSinceMixin):
    latest = BooleanFilter(
        field_name="next_version", lookup_expr="isnull", label=_("Only the latest versions.")
    )

    class Meta:
        model = Document
        fields = ["organization", "interaction", "agreement", "commitment", "content_type"]


@extend_schema_view(
    list=list_schema(DocumentSerializer),
    create=extend_schema(
        request={"multipart/form-data": DocumentSerializer},
        responses={
            201: DocumentSerializer,
            413: OpenApiResponse(description=_("The file is larger than the limit.")),
        },
    ),
)
class DocumentViewSet(CrmViewSet):
    """Kept files; uploaded as multipart, downloaded only through download."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    queryset = Document.objects.select_related("uploaded_by")
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    parser_classes = [LimitedMultiPartParser, FormParser, JSONParser]
    ordering_fields = ["uploaded_at", "updated_at", "title"]
    ordering = ["-uploaded_at", "-id"]
    export_basename = "documents"

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = _service(services.document_create, by=self.request.user, **data)

    def perform_update(self, serializer) -> None:
        serializer.save()

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("The file, as uploaded.")
            )
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None, format=None):
        """The file itself, to users who may view documents."""
        return document_response(self.get_object())
