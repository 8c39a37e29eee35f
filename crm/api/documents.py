"""API of kept documents.

Uploaded as multipart (refused past the size limit while they arrive) and
downloaded through ``…/download/`` only, with the permission checked. A file is
never replaced: a new file is a new version.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser

from crm import services
from crm.api.base import CrmViewSet, call_service, list_schema
from crm.api.filters import BooleanFilter, UpdatedSinceMixin
from crm.api.parameters import DepthLimitedJSONParser
from crm.api.serializers import ChoiceLabelField, IdField, UserLabelField
from crm.documents import limit_document_uploads
from crm.models import Document
from crm.views.documents import document_response


class LimitedMultiPartParser(MultiPartParser):
    """Multipart, refused with 413 as soon as the file passes the limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit_document_uploads(parser_context["request"])
        return super().parse(stream, media_type, parser_context)


class DocumentSerializer(serializers.ModelSerializer):
    serializer_related_field = IdField

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
    # The API's own JSON parser, as every resource's: DRF's has no depth check.
    parser_classes = [LimitedMultiPartParser, FormParser, DepthLimitedJSONParser]
    ordering_fields = ["uploaded_at", "updated_at", "title"]
    ordering = ["-uploaded_at", "-id"]
    export_basename = "documents"

    def get_queryset(self):
        # A mail's attachments need crm.read_mail_body: listed, read and
        # downloaded by Staff and Coordination only.
        queryset = super().get_queryset()
        # Without a request (the schema, the lean list path's checks) nobody is
        # asking: no document is shown.
        if self.request is None:
            return queryset.none()
        return queryset.visible_to(self.request.user)

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = call_service(services.document_create, by=self.request.user, **data)

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
