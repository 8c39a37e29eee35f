"""What every resource of the API is built on.

``CrmViewSet``: bounded pages, CSV/XLSX downloads of lists, writes of changed
fields only through ``services.record_update``, 409 on protected deletes.
``ETagMixin``: ETag on reads, If-Match on writes and actions. And how a
service's refusals become API errors (``service_errors``, ``call_service``) and
how lists and actions are documented (``list_schema``, ``record_action``).

Each resource's serializers, filters and viewset live in the module named after
it (``follow_ups.py``, ``agreements.py``…); ``urls.py`` routes them.
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import MultipleChoiceFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.response import Response

from crm import jobs, services
from crm.api import export, exporters, rows
from crm.api.jobs import JOB_SCHEMA, accepted
from crm.api.pagination import SyncCursorPagination
from crm.api.parameters import check_query_parameters, filterset_class_of
from crm.api.renderers import CSVRenderer, XLSXRenderer
from crm.api.serializers import django_errors_to_drf
from crm.audit import count_rows_when_sent, filters_of, record_export
from crm.security import is_ascii_int
from crm.versions import StaleVersion, Version, version_of

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
        "change applies to the record as it now is, and writes only what it changes."
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
            (202, "application/json"): OpenApiResponse(
                JOB_SCHEMA,
                description=_(
                    "More rows than the server answers at once: a job writes the file. "
                    "The Location header gives the job's address (/api/v1/jobs/<id>/), "
                    "whose “download” is the file once “status” is “done”."
                ),
            ),
        },
    )


class CheckedRequestsMixin:
    """What every resource refuses before it reads anything: unknown or repeated
    parameters, and record ids that are not ASCII digits."""

    # Actions besides the list that read the list's filters (e.g. totals): they
    # take its filter parameters, and refuse any other.
    filtered_actions: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.check_repeated_parameters(request)
        check_query_parameters(self, request)

    def check_repeated_parameters(self, request) -> None:
        """Refuse a parameter given twice unless it takes several values.

        Otherwise ``?project=1&project=2`` would silently mean project 2.
        """
        filterset_class = filterset_class_of(self)
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

    def get_object(self):
        """Return the record the path names, 404 unless its id is ASCII digits.

        ``int()`` reads "٣" as 3 and " 3" as 3: ``/follow-ups/٣/`` answered with
        follow-up 3. An id is written in the digits 0 to 9, and nothing else.
        """
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if lookup is not None and not is_ascii_int(str(lookup)):
            raise Http404
        return super().get_object()


class CrmViewSet(CheckedRequestsMixin, viewsets.ModelViewSet):
    """A resource: bounded pages, CSV/XLSX export of lists, 409 on protected deletes."""

    # Subclasses name what a file download is called.
    export_basename = "export"

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
            columns = exporters.columns_for(queryset.model)
            title = str(queryset.model._meta.verbose_name_plural)
            total = jobs.long_export_total(queryset)
            if total is not None:
                # Too long for a request: a job writes it (crm/jobs.py).
                job = jobs.start_export(
                    request,
                    queryset=queryset,
                    columns=columns,
                    total=total,
                    kind=format_,
                    resource=self.export_basename,
                    filters=filters_of(request.query_params),
                    basename=self.export_basename,
                    title=title,
                )
                return accepted(job)
            # Recorded before the file is written (a download cut short was
            # still asked for); its row count once the rows are written.
            entry = record_export(
                request,
                user=request.user,
                kind=format_,
                resource=self.export_basename,
                filters=filters_of(request.query_params),
            )
            if format_ == "csv":
                response = export.csv_response(queryset, columns, self.export_basename)
            else:
                response = export.xlsx_response(queryset, columns, self.export_basename, title)
            return count_rows_when_sent(response, entry)
        # DRF's list, but a page read through the lean plan where there is one.
        queryset = self.filter_queryset(self.get_queryset())
        plan = self.row_plan(queryset)
        page = self.paginate_queryset(queryset if plan is None else plan.rows(queryset))
        if page is None:
            return Response(self.get_serializer(queryset, many=True).data)
        if plan is None:
            data = self.get_serializer(page, many=True).data
        else:
            data = plan.represent(page, self.get_serializer_context())
        return self.get_paginated_response(data)

    def row_plan(self, queryset) -> rows.Plan | None:
        """Return the lean plan of this list's JSON pages (crm/api/rows.py), if it has one.

        Cursor pages (incremental sync) keep model instances: the cursor is read
        from the ordering's fields, which the plan does not promise to select.
        """
        if isinstance(self.paginator, SyncCursorPagination):
            return None
        return rows.plan_for(self.get_serializer_class(), frozenset(queryset.query.annotations))

    def requested_version(self) -> Version:
        """Return the version the client read (If-Match), where the resource has versions."""
        return None

    def record_response(self, instance) -> Response:
        """Answer with ``instance`` read again as the list shows it (names, computed fields)."""
        instance = self.get_queryset().get(pk=instance.pk)
        response = Response(self.get_serializer(instance).data)
        response.instance = instance
        return response

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return self.record_response(serializer.instance)

    def perform_update(self, serializer) -> None:
        """Write only the fields whose value changed, through ``services.record_update``.

        Under the row lock the service takes, so that this write cannot undo a
        change made meanwhile to a field the request did not send.
        """
        model = serializer.Meta.model
        changes, relations = {}, {}
        for name, value in serializer.validated_data.items():
            field = model._meta.get_field(name)
            (relations if field.many_to_many else changes)[name] = value
        with transaction.atomic(), service_errors():
            instance = services.record_update(
                instance=serializer.instance,
                changes=changes,
                by=self.request.user,
                version=self.requested_version(),
            )
            for name, values in relations.items():
                getattr(instance, name).set(values)
        serializer.instance = instance

    def perform_destroy(self, instance) -> None:
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as error:
            raise Conflict() from error


def etag_for(instance) -> str:
    """Return a strong ETag: the record's version, as edit forms carry it (crm.versions)."""
    return f'"{version_of(instance)}"'


def parse_if_match(header: str | None) -> list[str] | None:
    """Return the versions an If-Match header names; None when any version will do."""
    if header is None:
        return None
    candidates = [value.strip() for value in header.split(",")]
    if "*" in candidates:
        return None
    return [value.removeprefix("W/").strip('"') for value in candidates]


@contextmanager
def service_errors(renames: dict[str, str] | None = None):
    """Turn a service's refusals into API errors: 400 naming the field, 412 when stale."""
    try:
        yield
    except StaleVersion as error:
        raise PreconditionFailed() from error
    except DjangoValidationError as error:
        drf_error = django_errors_to_drf(error)
        for model_name, api_name in (renames or {}).items():
            if model_name in drf_error.detail:
                drf_error.detail[api_name] = drf_error.detail.pop(model_name)
        raise drf_error from None


def call_service(call, **kwargs):
    """Call a service that takes no version; its refusals are a 400 naming the field."""
    try:
        return call(**kwargs)
    except DjangoValidationError as error:
        raise django_errors_to_drf(error) from error


class ETagMixin:
    """``ETag`` on reads; ``If-Match`` checked on writes, under the service's own row lock.

    The version named by If-Match goes into the service (``version=``), which
    compares it with the row it has just locked: one lock per request, and no
    moment between the check and the write. A stale If-Match is a 412.
    """

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag_for(instance)
        return response

    def requested_version(self) -> Version:
        return parse_if_match(self.request.headers.get("If-Match"))

    def record_response(self, instance) -> Response:
        response = super().record_response(instance)
        response["ETag"] = etag_for(response.instance)
        return response

    def act(self, request, payload_class, service, renames=None) -> Response:
        """Run an action: check its payload, call ``service`` with the If-Match version."""
        instance = self.get_object()
        data = {}
        if payload_class is not None:
            payload = payload_class(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
        with service_errors(renames):
            service(instance, data, version=self.requested_version())
        return self.record_response(instance)


VERSIONED_SCHEMA = {
    "retrieve": extend_schema(parameters=[ETAG_HEADER]),
    "update": extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
    "partial_update": extend_schema(parameters=[IF_MATCH_PARAMETER, ETAG_HEADER]),
}


def record_action(serializer_class, request, description):
    """Document an action that answers with the record (``serializer_class``)."""
    return extend_schema(
        request=request,
        description=description,
        parameters=[IF_MATCH_PARAMETER, ETAG_HEADER],
        responses={
            200: serializer_class,
            400: OpenApiResponse(description=_("The payload or the record's state refuses it.")),
            412: OpenApiResponse(description=_("If-Match names an older version.")),
        },
    )
