"""API viewsets: scoped, select_related querysets; writes through crm.services."""

import hashlib

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import MultipleChoiceFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm import services
from crm.api import export, filters, serializers
from crm.api.pagination import SyncCursorPagination
from crm.api.parameters import check_query_parameters
from crm.api.renderers import CSVRenderer, XLSXRenderer
from crm.api.serializers import django_errors_to_drf
from crm.audit import filters_of, record_export
from crm.emails import notify_assignment
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
    StageChange,
)
from crm.security import is_ascii_int

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv", "xlsx"],
    description=_(
        "“csv” or “xlsx”: every matching row (the same filters, no pages) as a file "
        "to download, headed in the request's language. Default: JSON pages."
    ),
)

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description=_(
        "The ETag of the version you read. When it is no longer the current one the "
        "change is refused with 412 and nothing is saved. Optional: without it the "
        "change applies whatever happened since."
    ),
)

ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200],
    description=_("Version of the record, to send back as If-Match."),
)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "The record has changed since you read it (If-Match does not match its ETag). "
        "Read it again, then repeat your change."
    )
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This record is referenced by others and cannot be deleted.")
    default_code = "protected"


def list_schema(serializer_class):
    """Document a list's JSON pages and its CSV/XLSX downloads."""
    return extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): serializer_class(many=True),
            (200, export.CSV_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.STR, description=_("All matching rows as CSV.")
            ),
            (200, export.XLSX_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("All matching rows as an XLSX workbook.")
            ),
        },
    )


class CrmViewSet(viewsets.ModelViewSet):
    """A resource: bounded pages, CSV/XLSX export of lists, 409 on protected deletes."""

    # Subclasses name what a file download is called.
    export_basename = "export"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.check_repeated_parameters(request)
        check_query_parameters(self, request)

    def check_repeated_parameters(self, request) -> None:
        """Refuse a parameter given twice unless it takes several values.

        Otherwise ``?project=1&project=2`` would silently mean project 2.
        """
        filterset_class = getattr(self, "filterset_class", None)
        several = {
            name
            for name, filter_ in (filterset_class.base_filters if filterset_class else {}).items()
            if isinstance(filter_, MultipleChoiceFilter)
        }
        errors = {
            name: [_("Give this parameter once.")]
            for name, values in request.query_params.lists()
            if len(values) > 1 and name not in several
        }
        if errors:
            raise exceptions.ValidationError(errors)

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action == "list":
            renderers += [CSVRenderer(), XLSXRenderer()]
        return renderers

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            params = self.request.query_params if self.request else {}
            syncable = hasattr(self.get_queryset().model, "updated_at")
            if syncable and ("cursor" in params or "updated_since" in params):
                self._paginator = SyncCursorPagination()
            else:
                self._paginator = self.pagination_class()
        return self._paginator

    def list(self, request, *args, **kwargs):
        format_ = getattr(request.accepted_renderer, "format", None)
        if format_ in export.FORMATS:
            # A file holds every row: page parameters do not apply, but a
            # malformed one is still refused rather than ignored.
            errors = {
                name: [_("Give a whole number.")]
                for name in ("page", "page_size")
                if request.query_params.get(name, "")
                and not is_ascii_int(request.query_params[name])
            }
            if errors:
                raise exceptions.ValidationError(errors)
            queryset = self.filter_queryset(self.get_queryset())
            serializer = self.get_serializer()
            # Recorded before the file is written: a download cut short was still
            # asked for. One COUNT of the same filtered rows gives its size (the
            # CSV is streamed after this method returns).
            record_export(
                request,
                user=request.user,
                kind=format_,
                resource=self.export_basename,
                filters=filters_of(request.query_params),
                row_count=queryset.order_by().count(),
            )
            if format_ == "csv":
                return export.csv_response(queryset, serializer, self.export_basename)
            title = str(queryset.model._meta.verbose_name_plural)
            return export.xlsx_response(queryset, serializer, self.export_basename, title)
        return super().list(request, *args, **kwargs)

    def perform_destroy(self, instance) -> None:
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as error:
            raise Conflict() from error


def etag_for(instance) -> str:
    """Return a strong ETag: the record's identity and the moment it last changed."""
    version = f"{instance._meta.label}:{instance.pk}:{instance.updated_at.isoformat()}"
    return f'"{hashlib.sha256(version.encode()).hexdigest()[:32]}"'


class ETagMixin:
    """``ETag`` on reads; ``If-Match`` checked under a row lock on writes (else 412)."""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag_for(instance)
        return response

    def check_if_match(self, instance) -> None:
        """Raise 412 unless If-Match (when given) names the current version.

        The version is read again under a row lock, inside the caller's
        transaction, so that two writers holding the same ETag cannot both pass.
        """
        if_match = self.request.headers.get("If-Match")
        if if_match is None:
            return
        current = type(instance)._base_manager.select_for_update().get(pk=instance.pk)
        etag = etag_for(current)
        candidates = [value.strip() for value in if_match.split(",")]
        if "*" not in candidates and etag not in candidates:
            raise PreconditionFailed()

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            self.check_if_match(self.get_object())
            response = super().update(request, *args, **kwargs)
        response["ETag"] = etag_for(self._saved)
        return response

    def perform_update(self, serializer) -> None:
        super().perform_update(serializer)
        self._saved = serializer.instance

    def _action_response(self, instance) -> Response:
        instance = self.get_queryset().get(pk=instance.pk)
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag_for(instance)
        return response


@extend_schema_view(list=list_schema(serializers.OrganizationSerializer))
class OrganizationViewSet(CrmViewSet):
    """Companies, universities, investors, public bodies… that the unit deals with."""

    queryset = Organization.objects.select_related("source")
    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    ordering_fields = ["name", "kind", "country", "created_at", "updated_at"]
    ordering = ["name", "id"]
    export_basename = "organisations"


@extend_schema_view(list=list_schema(serializers.PersonSerializer))
class PersonViewSet(CrmViewSet):
    """People the unit deals with; their roles are affiliations."""

    queryset = Person.objects.all()
    serializer_class = serializers.PersonSerializer
    filterset_class = filters.PersonFilter
    ordering_fields = ["family_name", "given_name", "created_at", "updated_at"]
    ordering = ["family_name", "given_name", "id"]
    export_basename = "people"


@extend_schema_view(list=list_schema(serializers.AffiliationSerializer))
class AffiliationViewSet(CrmViewSet):
    """Roles people hold in organisations; ended (end_on), never deleted."""

    queryset = Affiliation.objects.select_related("person", "organization")
    serializer_class = serializers.AffiliationSerializer
    filterset_class = filters.AffiliationFilter
    ordering_fields = ["title", "start_on", "end_on"]
    ordering = ["person__family_name", "title", "id"]
    export_basename = "affiliations"


@extend_schema_view(list=list_schema(serializers.ProjectSerializer))
class ProjectViewSet(CrmViewSet):
    """The Compact projects."""

    queryset = Project.objects.select_related("programme", "lead")
    serializer_class = serializers.ProjectSerializer
    filterset_class = filters.ProjectFilter
    ordering_fields = ["name", "code", "status"]
    ordering = ["name", "id"]
    export_basename = "projects"


@extend_schema_view(list=list_schema(serializers.MissionSerializer))
class MissionViewSet(CrmViewSet):
    """Missions of the delegation."""

    queryset = Mission.objects.select_related("organizer")
    serializer_class = serializers.MissionSerializer
    filterset_class = filters.MissionFilter
    ordering_fields = ["start_on", "title"]
    ordering = ["-start_on", "id"]
    export_basename = "missions"


@extend_schema_view(list=list_schema(serializers.InteractionSerializer))
class InteractionViewSet(CrmViewSet):
    """Meetings, calls, e-mails, visits and events, with who was there."""

    queryset = Interaction.objects.select_related("mission", "created_by").prefetch_related(
        "organizations", "people", "staff", "projects"
    )
    serializer_class = serializers.InteractionSerializer
    filterset_class = filters.InteractionFilter
    ordering_fields = ["occurred_on", "title", "created_at", "updated_at"]
    ordering = ["-occurred_on", "-id"]
    export_basename = "interactions"

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user)


@extend_schema_view(
    list=list_schema(serializers.PartnershipSerializer),
    retrieve=extend_schema(parameters=[ETAG_HEADER]),
    update=extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
)
class PartnershipViewSet(ETagMixin, CrmViewSet):
    """What each organisation is, or may become, for each project; stage moves via change-stage."""

    serializer_class = serializers.PartnershipSerializer
    filterset_class = filters.PartnershipFilter
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
    change_actions = ["change_stage"]

    def get_queryset(self):
        return Partnership.objects.with_contact_due().select_related(
            "organization", "project", "owner"
        )

    def perform_create(self, serializer) -> None:
        # The service records the first stage, as for partnerships added in
        # the admin.
        try:
            serializer.instance = services.partnership_create(
                by=self.request.user, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise django_errors_to_drf(error) from error

    @extend_schema(
        request=serializers.ChangeStageSerializer,
        responses={200: serializers.PartnershipSerializer},
        parameters=[IF_MATCH_PARAMETER, ETAG_HEADER],
    )
    @action(detail=True, methods=["post"], url_path="change-stage")
    def change_stage(self, request, pk=None):
        """Move the partnership to another stage, recording the move (StageChange)."""
        partnership = self.get_object()
        payload = serializers.ChangeStageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            self.check_if_match(partnership)
            try:
                services.partnership_change_stage(
                    partnership=partnership,
                    to_stage=payload.validated_data["stage"],
                    by=request.user,
                    note=payload.validated_data["note"],
                )
            except DjangoValidationError as error:
                raise django_errors_to_drf(error) from error
        return self._action_response(partnership)


@extend_schema_view(
    list=list_schema(serializers.FollowUpSerializer),
    retrieve=extend_schema(parameters=[ETAG_HEADER]),
    update=extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
)
class FollowUpViewSet(ETagMixin, CrmViewSet):
    """What the unit must do, by whom and when; marked done via complete."""

    queryset = FollowUp.objects.select_related(
        "project", "organization", "person", "assignee", "completed_by", "created_by"
    )
    serializer_class = serializers.FollowUpSerializer
    filterset_class = filters.FollowUpFilter
    ordering_fields = ["due_on", "priority", "status", "title", "created_at", "updated_at"]
    ordering = ["due_on", "id"]
    export_basename = "follow-ups"
    change_actions = ["complete"]

    def perform_create(self, serializer) -> None:
        # The service checks the model's rules, records the creator (also in the
        # history) and tells the assignee, as for the pages and the admin.
        try:
            serializer.instance = services.follow_up_create(
                by=self.request.user, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise django_errors_to_drf(error) from error

    def perform_update(self, serializer) -> None:
        assignee_before = serializer.instance.assignee_id
        super().perform_update(serializer)
        if serializer.instance.assignee_id != assignee_before:
            notify_assignment(follow_ups=[serializer.instance], by=self.request.user)

    @extend_schema(
        request=serializers.CompleteFollowUpSerializer,
        responses={200: serializers.FollowUpSerializer},
        parameters=[IF_MATCH_PARAMETER, ETAG_HEADER],
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the follow-up done; the note says what was done."""
        follow_up = self.get_object()
        payload = serializers.CompleteFollowUpSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            self.check_if_match(follow_up)
            try:
                services.follow_up_complete(
                    follow_up=follow_up, by=request.user, note=payload.validated_data["note"]
                )
            except DjangoValidationError as error:
                error = django_errors_to_drf(error)
                if "completion_note" in error.detail:
                    error.detail["note"] = error.detail.pop("completion_note")
                raise error from None
        return self._action_response(follow_up)


@extend_schema_view(list=list_schema(serializers.StageChangeSerializer))
class StageChangeViewSet(CrmViewSet):
    """The log of stage moves; written only by change-stage."""

    http_method_names = ["get", "head", "options"]
    queryset = StageChange.objects.select_related(
        "partnership__organization", "partnership__project", "changed_by"
    )
    serializer_class = serializers.StageChangeSerializer
    filterset_class = filters.StageChangeFilter
    ordering_fields = ["changed_at"]
    ordering = ["-changed_at", "-id"]
    export_basename = "stage-changes"
