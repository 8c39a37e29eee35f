"""API of mail: ``POST /api/v1/mail/`` takes a message in; the list is for reporting.

The message is the multipart field ``message``, refused with 413 past
CRM_MAIL_MAX_BYTES while it arrives. The answer is 201 with the record (its
status, and the meeting it became), or 200 with the same when the message was
received before. Bodies are in the answer only for those with
``crm.read_mail_body`` (Staff, Coordination).
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from crm import services
from crm.api.base import CheckedRequestsMixin
from crm.api.serializers import ChoiceLabelField, UserLabelField
from crm.models import MailMessage
from crm.views.mail import can_read_bodies, limit_mail_uploads, read_upload


class MailMultiPartParser(MultiPartParser):
    """Multipart, refused with 413 as soon as the message passes the limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit_mail_uploads(parser_context["request"])
        return super().parse(stream, media_type, parser_context)


class MailMessageSerializer(serializers.ModelSerializer):
    status_label = ChoiceLabelField("status", label=_("status (label)"))
    filed_by_name = UserLabelField(source="filed_by", label=_("filed by (name)"))
    documents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # Said in the reader's language (crm.mail.reasons).
    reason = serializers.CharField(
        source="reason_display", read_only=True, label=_("why it waits")
    )
    error = serializers.CharField(source="error_display", read_only=True, label=_("error"))

    # What Read-only sees: subject, date and parties.
    PUBLIC = (
        "id",
        "message_id",
        "from_name",
        "from_address",
        "to_addresses",
        "cc_addresses",
        "sent_at",
        "subject",
        "door",
        "status",
        "status_label",
        "reason",
        "discard_reason",
        "error",
        "interaction",
        "organization",
        "person",
        "project",
        "filed_by_name",
        "received_at",
    )

    class Meta:
        model = MailMessage
        fields = [
            "id",
            "message_id",
            "from_name",
            "from_address",
            "to_addresses",
            "cc_addresses",
            "sent_at",
            "subject",
            "summary",
            "body",
            "body_purged_at",
            "documents",
            "skipped_attachments",
            "door",
            "status",
            "status_label",
            "reason",
            "discard_reason",
            "error",
            "interaction",
            "organization",
            "person",
            "project",
            "filed_by_name",
            "invitation_uid",
            "invitation_method",
            "invitation_sequence",
            "received_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not can_read_bodies(request.user):
            data = {name: value for name, value in data.items() if name in self.PUBLIC}
        return data


class MailMessageFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=MailMessage.Status.choices)
    door = filters.ChoiceFilter(choices=MailMessage.Door.choices)

    class Meta:
        model = MailMessage
        fields = ["status", "door"]


@extend_schema(tags=["mail"])
class MailMessageViewSet(
    CheckedRequestsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Mail messages: take one in (``POST``, multipart ``message``), list and read them."""

    serializer_class = MailMessageSerializer
    filterset_class = MailMessageFilter
    parser_classes = [MailMultiPartParser]
    ordering_fields = ["received_at", "sent_at"]
    ordering = ["-received_at", "-id"]

    def get_queryset(self):
        return (
            MailMessage.objects.select_related("filed_by")
            .prefetch_related("documents")
            .order_by("-received_at", "-id")
        )

    @extend_schema(
        request=inline_serializer("MailUpload", {"message": serializers.FileField()}),
        responses={200: MailMessageSerializer, 201: MailMessageSerializer},
    )
    def create(self, request, *args, **kwargs):
        uploads = request.FILES.getlist("message")
        if len(uploads) != 1:
            raise exceptions.ValidationError(
                {"message": [_("Send one message, as the multipart field “message”.")]}
            )
        try:
            receipt = services.mail_receive(
                raw=read_upload(uploads[0]), door=MailMessage.Door.API, by=request.user
            )
        except services.MailRefused as error:
            raise exceptions.ValidationError({"message": [str(error)]}) from None
        message = self.get_queryset().get(pk=receipt.message.pk)
        data = self.get_serializer(message).data
        return Response(
            data, status=status.HTTP_201_CREATED if receipt.created else status.HTTP_200_OK
        )
