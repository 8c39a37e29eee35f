"""What the FilterSets of every resource share: strict filter fields and the backend.

Every filter validates its value through a form field, so a malformed value is a
400 with the field named, never a database error. Each resource's own FilterSet
lives in the module named after it (``follow_ups.py``, ``agreements.py``…);
date-dependent filters there call the QuerySet methods.
"""

from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions
from rest_framework.filters import OrderingFilter

from crm.security import is_ascii_int

ME = "me"


class UserOrMeField(forms.CharField):
    """A user id, or ``me`` for the user making the request."""

    def clean(self, value):
        value = super().clean(value)
        if value in (None, "") or value == ME:
            return value
        if not is_ascii_int(value):
            raise ValidationError(_("Give a user id or “me”."), code="invalid")
        return int(value)


class UtcIsoDateTimeField(IsoDateTimeField):
    """A moment in ISO 8601, handed to the database in UTC.

    Python takes offsets up to ±23:59 but PostgreSQL only up to ±15:59: a moment
    written with -20:13 reached the database as written and failed there (a 500).
    """

    def clean(self, value):
        value = super().clean(value)
        if value is None or timezone.is_naive(value):
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """``true`` or ``false`` (also 1/0); anything else is an error, not "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(_("Give “true” or “false”."), code="invalid")

    def validate(self, value):
        pass


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, building no FilterSet for a request that names no filter.

    A FilterSet's form and its deep copy of every filter cost about a millisecond
    of each page; with none of its parameters given, every filter would hand the
    queryset back unchanged. (``check_query_parameters`` has already refused
    every parameter that is neither a filter nor a list parameter.)
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in filterset_class.base_filters for name in request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class StrictOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=``, refusing with a 400 a field it does not order by.

    DRF drops an unknown field silently: ``?ordering=-amout`` (a typo) gave the
    default order, which a client reading "the largest first" could not tell.
    """

    def get_ordering(self, request, queryset, view):
        value = request.query_params.get(self.ordering_param)
        if not value:
            return self.get_default_ordering(view)
        terms = [term.strip() for term in value.split(",")]
        allowed = [
            name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
        ]
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        _(
                            "Unknown ordering “%(value)s”. Order by: %(allowed)s "
                            "(a minus sign first reverses the order)."
                        )
                        % {"value": ", ".join(unknown), "allowed": ", ".join(allowed)}
                    ]
                }
            )
        return terms


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        # django-filter's BooleanWidget reads an unknown value as "no filter";
        # a plain text input hands it to the field, which refuses it.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class UserOrMeFilter(filters.Filter):
    field_class = UserOrMeField

    def filter(self, queryset, value):
        if value in (None, ""):
            return queryset
        if value == ME:
            value = self.parent.request.user.pk
        return queryset.filter(**{self.field_name: value})


class UpdatedSinceMixin(filters.FilterSet):
    updated_since = IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label=_("Changed at or after this moment (ISO 8601); pages then follow a cursor."),
    )
