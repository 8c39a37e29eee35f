"""API of the directory: organisations, people and the roles they hold (affiliations)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from crm.api.base import CrmViewSet, list_schema
from crm.api.filters import BooleanFilter, UpdatedSinceMixin
from crm.api.serializers import ChoiceLabelField, CleanModelSerializer
from crm.mail.domains import normalize_email_domains
from crm.models import Affiliation, Organization, Person


class OrganizationSerializer(CleanModelSerializer):
    kind_label = ChoiceLabelField("kind", label=_("kind (label)"))
    source_title = serializers.CharField(
        source="source.title", read_only=True, allow_null=True, label=_("source")
    )

    def validate_email_domains(self, value: str) -> str:
        try:
            return normalize_email_domains(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    class Meta:
        model = Organization
        fields = [
            "id",
            "slug",
            "name",
            "short_name",
            "kind",
            "kind_label",
            "country",
            "city",
            "website",
            "email_domains",
            "description",
            "is_identified",
            "needs_verification",
            "verification_note",
            "source",
            "source_title",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


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


@extend_schema_view(list=list_schema(OrganizationSerializer))
class OrganizationViewSet(CrmViewSet):
    """Companies, universities, investors, public bodies… that the unit deals with."""

    queryset = Organization.objects.select_related("source")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    ordering_fields = ["name", "kind", "country", "created_at", "updated_at"]
    ordering = ["name", "id"]
    export_basename = "organisations"


class PersonSerializer(CleanModelSerializer):
    full_name = serializers.CharField(read_only=True, label=_("name"))
    preferred_language_label = ChoiceLabelField(
        "preferred_language", label=_("preferred language (label)")
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "slug",
            "given_name",
            "family_name",
            "full_name",
            "email",
            "phone",
            "preferred_language",
            "preferred_language_label",
            "notes",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


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


@extend_schema_view(list=list_schema(PersonSerializer))
class PersonViewSet(CrmViewSet):
    """People the unit deals with; their roles are affiliations."""

    queryset = Person.objects.all()
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    ordering_fields = ["family_name", "given_name", "created_at", "updated_at"]
    ordering = ["family_name", "given_name", "id"]
    export_basename = "people"


class AffiliationSerializer(CleanModelSerializer):
    person_name = serializers.CharField(
        source="person.full_name", read_only=True, label=_("person (name)")
    )
    organization_name = serializers.CharField(
        source="organization.name", read_only=True, label=_("organisation (name)")
    )
    is_active = serializers.BooleanField(read_only=True, label=_("active"))

    class Meta:
        model = Affiliation
        fields = [
            "id",
            "person",
            "person_name",
            "organization",
            "organization_name",
            "title",
            "start_on",
            "end_on",
            "is_primary",
            "is_active",
            "source",
        ]


class AffiliationFilter(filters.FilterSet):
    is_primary = BooleanFilter()
    active = BooleanFilter(field_name="end_on", lookup_expr="isnull", label=_("Not ended."))

    class Meta:
        model = Affiliation
        fields = ["person", "organization", "is_primary"]


@extend_schema_view(list=list_schema(AffiliationSerializer))
class AffiliationViewSet(CrmViewSet):
    """Roles people hold in organisations; ended (end_on), never deleted."""

    queryset = Affiliation.objects.select_related("person", "organization")
    serializer_class = AffiliationSerializer
    filterset_class = AffiliationFilter
    ordering_fields = ["title", "start_on", "end_on"]
    ordering = ["person__family_name", "title", "id"]
    export_basename = "affiliations"
