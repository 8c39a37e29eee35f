"""FilterSets of the API; date-dependent filters call the QuerySet methods.

Every filter validates its value through a form field, so a malformed value is a
400 with the field named, never a database error.
"""

from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from crm import clock
from crm.managers import Deadline, deadline_q
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


class OrganizationFilter(UpdatedSinceMixin):
    kind = filters.MultipleChoiceFilter(choices=Organization.Kind.choices)
    country = filters.CharFilter(lookup_expr="iexact", max_length=2)
    is_identified = BooleanFilter()
    needs_verification = BooleanFilter()
    q = filters.CharFilter(method="filter_text", label=_("Text in name, short name or city."))

    class Meta:
        model = Organization
        fields = ["kind", "country", "is_identified", "needs_verification"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(short_name__icontains=value)
            | Q(slug__icontains=value)
            | Q(city__icontains=value)
        )


class PersonFilter(UpdatedSinceMixin):
    organization = filters.NumberFilter(
        field_name="affiliations__organization", distinct=True, label=_("Organisation id.")
    )
    q = filters.CharFilter(method="filter_text", label=_("Text in the name or e-mail."))

    class Meta:
        model = Person
        fields = ["preferred_language"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(
            Q(given_name__icontains=value)
            | Q(family_name__icontains=value)
            | Q(email__icontains=value)
        )


class AffiliationFilter(filters.FilterSet):
    is_primary = BooleanFilter()
    active = BooleanFilter(field_name="end_on", lookup_expr="isnull", label=_("Not ended."))

    class Meta:
        model = Affiliation
        fields = ["person", "organization", "is_primary"]


class ProjectFilter(filters.FilterSet):
    class Meta:
        model = Project
        fields = ["programme", "sector", "status"]


class MissionFilter(filters.FilterSet):
    class Meta:
        model = Mission
        fields = ["organizer"]


class InteractionFilter(UpdatedSinceMixin):
    organization = filters.NumberFilter(
        field_name="organizations", distinct=True, label=_("Organisation id.")
    )
    project = filters.NumberFilter(field_name="projects", distinct=True, label=_("Project id."))
    date_after = filters.DateFilter(
        field_name="occurred_on", lookup_expr="gte", label=_("On or after this date.")
    )
    date_before = filters.DateFilter(
        field_name="occurred_on", lookup_expr="lte", label=_("On or before this date.")
    )

    class Meta:
        model = Interaction
        fields = ["mission", "kind"]


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


class FollowUpFilter(UpdatedSinceMixin):
    status = filters.MultipleChoiceFilter(choices=FollowUp.Status.choices)
    assignee = UserOrMeFilter(label=_("Assignee: a user id, or “me”."))
    due_after = filters.DateFilter(
        field_name="due_on", lookup_expr="gte", label=_("Due on or after this date.")
    )
    due_before = filters.DateFilter(
        field_name="due_on", lookup_expr="lte", label=_("Due on or before this date.")
    )
    overdue = BooleanFilter(
        method="filter_overdue",
        label=_("Open, past its due date and not waiting on the partner."),
    )
    deadline = filters.ChoiceFilter(
        choices=Deadline.choices,
        method="filter_deadline",
        label=_("Where it stands against today, as the dashboard groups it."),
    )

    class Meta:
        model = FollowUp
        fields = ["project", "organization", "person", "interaction", "priority"]

    def filter_overdue(self, queryset, name, value):
        overdue = deadline_q(Deadline.OVERDUE, today=clock.today())
        return queryset.filter(overdue if value else ~overdue)

    def filter_deadline(self, queryset, name, value):
        return queryset.deadline(value, today=clock.today())


class StageChangeFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="partnership__project", label=_("Project id."))
    organization = filters.NumberFilter(
        field_name="partnership__organization", label=_("Organisation id.")
    )
    changed_since = IsoDateTimeFilter(field_name="changed_at", lookup_expr="gte")

    class Meta:
        model = StageChange
        fields = ["partnership", "to_stage"]
