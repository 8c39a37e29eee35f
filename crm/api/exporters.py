"""The columns of each list's CSV/XLSX export, declared once per resource.

As pretix's exporters do, every column is written out: its header, what the
database computes for it and its kind. The headers are the JSON field names'
labels, so that a file and the API say the same thing. A code or an id stays
(a program joins on it), and beside it its label or name, which a person
reads: "status (label)", "assignee (name)", "meeting (title)"; yes/no are words
in the request's language (``crm.api.export``). Nothing here runs a
query; ``crm.api.export`` annotates the list's filtered queryset with these
expressions.
"""

from django.db import models
from django.db.models import BooleanField, Case, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.utils.translation import gettext_lazy as _

from crm.api.export import Column, Kind
from crm.models import (
    Affiliation,
    Agreement,
    AgreementParty,
    AgreementStatusChange,
    Commitment,
    CommitmentStatusChange,
    Document,
    ExchangeRate,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
    Project,
    StageChange,
)

# Building blocks.


def _field_at(model, path: str) -> models.Field:
    *relations, last = path.split("__")
    for name in relations:
        model = model._meta.get_field(name).related_model
    return model._meta.get_field(last)


def _kind_of(field: models.Field) -> Kind:
    if field.is_relation:
        return Kind.INTEGER  # A foreign key: its id.
    if isinstance(field, models.DecimalField):
        return Kind.DECIMAL
    if isinstance(field, models.BooleanField):
        return Kind.BOOLEAN
    if isinstance(field, models.DateTimeField):
        return Kind.MOMENT
    if isinstance(field, models.DateField):
        return Kind.DATE
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return Kind.INTEGER
    return Kind.TEXT


def field(model, path: str, header=None) -> Column:
    """A model field (``path`` may follow foreign keys), headed by its verbose name."""
    model_field = _field_at(model, path)
    kind = _kind_of(model_field)
    # A decimal keeps its field's places, as the serializer's DecimalField does.
    places = model_field.decimal_places if kind is Kind.DECIMAL else None
    return Column(header or model_field.verbose_name, path, kind, places=places)


def fields(model, *paths: str) -> list[Column]:
    return [field(model, path) for path in paths]


def label(model, path: str, header) -> Column:
    """The label of a choice field's value, in the request's language."""
    choices = tuple(_field_at(model, path).flatchoices)
    return Column(header, path, Kind.LABEL, choices=choices)


def full_name(prefix: str = "") -> models.Expression:
    """Person.full_name: given and family name, trimmed."""
    return Trim(Concat(f"{prefix}given_name", Value(" "), f"{prefix}family_name"))


def user_name(path: str, header) -> Column:
    """A user's full name, else their user name (``crm.api.serializers.user_label``)."""
    full = Trim(Concat(f"{path}__first_name", Value(" "), f"{path}__last_name"))
    return Column(header, Coalesce(NullIf(full, Value("")), f"{path}__username"))


class _Joined(models.Aggregate):
    """The values of a group joined by "; ", in order (in no set order on SQLite)."""

    function = "STRING_AGG"
    template = "%(function)s((%(expressions)s)::text, '; ' ORDER BY %(expressions)s)"
    output_field = models.TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        # The template writes the expressions twice: their parameters too.
        sql, params = self.as_sql(compiler, connection, **extra_context)
        return sql, (*params, *params)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            function="GROUP_CONCAT",
            template="%(function)s(%(expressions)s, '; ')",
            **extra_context,
        )


def joined(model, relation: str, value: str, header) -> Column:
    """The related records of a many-to-many relation, as ``value`` joined by "; "."""
    m2m = model._meta.get_field(relation)
    through = m2m.remote_field.through
    source, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
    path = f"{target}_id" if value == "pk" else f"{target}__{value}"
    subquery = (
        through.objects.filter(**{source: OuterRef("pk")})
        .order_by()
        .values(source)
        .annotate(joined=_Joined(path))
        .values("joined")
    )
    return Column(header, Subquery(subquery, output_field=models.TextField()))


def joined_related(related_model, to_parent: str, value: str, header) -> Column:
    """The rows of a reverse foreign key (``related_model.to_parent``), as ``value`` joined."""
    subquery = (
        related_model.objects.filter(**{to_parent: OuterRef("pk")})
        .order_by()
        .values(to_parent)
        .annotate(joined=_Joined(value))
        .values("joined")
    )
    return Column(header, Subquery(subquery, output_field=models.TextField()))


def _is_overdue(context) -> models.Expression:
    """FollowUp.objects.overdue(today=…), the one definition, as a true/false column."""
    condition = FollowUp.objects.overdue(today=context["today"]).query.where
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


# The exports, one list of columns per resource.


def _organizations() -> list[Column]:
    return [
        *fields(Organization, "id", "slug", "name", "short_name", "kind"),
        label(Organization, "kind", _("kind (label)")),
        *fields(Organization, "country", "city", "website", "description"),
        *fields(Organization, "is_identified", "needs_verification", "verification_note"),
        field(Organization, "source"),
        field(Organization, "source__title", _("source")),
        *fields(Organization, "created_at", "updated_at"),
    ]


def _people() -> list[Column]:
    return [
        *fields(Person, "id", "slug", "given_name", "family_name"),
        Column(_("name"), full_name()),
        *fields(Person, "email", "phone", "preferred_language"),
        label(Person, "preferred_language", _("preferred language (label)")),
        *fields(Person, "notes", "source", "created_at", "updated_at"),
    ]


def _affiliations() -> list[Column]:
    return [
        *fields(Affiliation, "id", "person"),
        Column(_("person (name)"), full_name("person__")),
        field(Affiliation, "organization"),
        field(Affiliation, "organization__name", _("organisation (name)")),
        *fields(Affiliation, "title", "start_on", "end_on", "is_primary"),
        Column(
            _("active"),
            Case(When(Q(end_on__isnull=True), then=Value(True)), default=Value(False)),
            Kind.BOOLEAN,
        ),
        field(Affiliation, "source"),
    ]


def _projects() -> list[Column]:
    return [
        *fields(Project, "id", "code", "name", "programme"),
        field(Project, "programme__name", _("programme (name)")),
        field(Project, "sector"),
        label(Project, "sector", _("sector (label)")),
        field(Project, "status"),
        label(Project, "status", _("status (label)")),
        *fields(Project, "description", "lead"),
        user_name("lead", _("lead (name)")),
        field(Project, "source"),
    ]


def _missions() -> list[Column]:
    return [
        *fields(Mission, "id", "slug", "title", "start_on", "end_on", "date_precision"),
        field(Mission, "organizer"),
        field(Mission, "organizer__name", _("organiser (name)")),
        *fields(Mission, "cities", "objectives", "description", "source"),
    ]


def _interactions() -> list[Column]:
    return [
        *fields(Interaction, "id", "slug", "kind"),
        label(Interaction, "kind", _("kind (label)")),
        field(Interaction, "mission"),
        field(Interaction, "mission__title", _("mission (title)")),
        *fields(Interaction, "occurred_on", "date_precision", "city", "title", "summary"),
        field(Interaction, "outcome"),
        joined(Interaction, "organizations", "pk", _("organisations")),
        joined(Interaction, "organizations", "name", _("organisations (names)")),
        joined(Interaction, "people", "pk", _("people met")),
        joined(Interaction, "staff", "pk", _("staff present")),
        joined(Interaction, "projects", "pk", _("projects discussed")),
        *fields(Interaction, "source", "created_by"),
        user_name("created_by", _("created by (name)")),
        *fields(Interaction, "created_at", "updated_at"),
    ]


def _partnerships() -> list[Column]:
    return [
        *fields(Partnership, "id", "organization"),
        field(Partnership, "organization__name", _("organisation (name)")),
        field(Partnership, "project"),
        field(Partnership, "project__name", _("project (name)")),
        field(Partnership, "role"),
        label(Partnership, "role", _("role (label)")),
        field(Partnership, "stage"),
        label(Partnership, "stage", _("stage (label)")),
        field(Partnership, "owner"),
        user_name("owner", _("owner (name)")),
        field(Partnership, "contact_cadence_days"),
        # Annotations of the list's queryset (with_contact_due()).
        Column(_("last contact"), "last_contact_on", Kind.DATE),
        Column(_("next contact due"), "contact_due_on", Kind.DATE),
        *fields(Partnership, "notes", "source", "created_at", "updated_at"),
    ]


def _follow_ups() -> list[Column]:
    return [
        *fields(FollowUp, "id", "title", "description", "project"),
        field(FollowUp, "project__name", _("project (name)")),
        field(FollowUp, "organization"),
        field(FollowUp, "organization__name", _("organisation (name)")),
        field(FollowUp, "person"),
        Column(_("person (name)"), NullIf(full_name("person__"), Value(""))),
        field(FollowUp, "interaction"),
        field(FollowUp, "interaction__title", _("meeting (title)")),
        field(FollowUp, "assignee"),
        user_name("assignee", _("assignee (name)")),
        *fields(FollowUp, "due_on", "status"),
        label(FollowUp, "status", _("status (label)")),
        field(FollowUp, "priority"),
        label(FollowUp, "priority", _("priority (label)")),
        Column(_("overdue"), _is_overdue, Kind.BOOLEAN),
        *fields(FollowUp, "completed_at", "completed_by"),
        user_name("completed_by", _("completed by (name)")),
        *fields(FollowUp, "completion_note", "completion_contact", "created_by"),
        user_name("created_by", _("created by (name)")),
        *fields(FollowUp, "is_demo", "created_at", "updated_at"),
    ]


def _stage_changes() -> list[Column]:
    return [
        *fields(StageChange, "id", "partnership"),
        Column(
            _("partnership (name)"),
            Concat("partnership__organization__name", Value(" — "), "partnership__project__name"),
        ),
        field(StageChange, "partnership__organization", _("organisation")),
        field(StageChange, "partnership__project", _("project")),
        field(StageChange, "from_stage"),
        label(StageChange, "from_stage", _("from (label)")),
        field(StageChange, "to_stage"),
        label(StageChange, "to_stage", _("to (label)")),
        *fields(StageChange, "changed_at", "changed_by"),
        user_name("changed_by", _("changed by (name)")),
        field(StageChange, "note"),
    ]


def _commitments() -> list[Column]:
    return [
        *fields(Commitment, "id", "partnership"),
        field(Commitment, "partnership__organization", _("organisation")),
        field(Commitment, "partnership__organization__name", _("organisation (name)")),
        field(Commitment, "partnership__project", _("project")),
        field(Commitment, "partnership__project__name", _("project (name)")),
        field(Commitment, "kind"),
        label(Commitment, "kind", _("kind (label)")),
        *fields(Commitment, "description", "amount", "currency"),
        # Annotations of the list's queryset (crm.api.commitments.with_converted_amounts,
        # at today's rates), rounded half up as the serializer rounds them.
        Column(_("amount in XOF"), "amount_xof", Kind.DECIMAL, places=0),
        Column(_("amount in USD"), "amount_usd", Kind.DECIMAL, places=2),
        *fields(Commitment, "amount_delivered", "expected_on", "status"),
        label(Commitment, "status", _("status (label)")),
        *fields(Commitment, "source", "is_demo", "created_at", "updated_at"),
    ]


def _commitment_status_changes() -> list[Column]:
    return [
        *fields(CommitmentStatusChange, "id", "commitment", "from_status"),
        label(CommitmentStatusChange, "from_status", _("from (label)")),
        field(CommitmentStatusChange, "to_status"),
        label(CommitmentStatusChange, "to_status", _("to (label)")),
        *fields(CommitmentStatusChange, "amount", "changed_at", "changed_by"),
        user_name("changed_by", _("changed by (name)")),
        field(CommitmentStatusChange, "note"),
    ]


def _agreements() -> list[Column]:
    return [
        *fields(Agreement, "id", "slug", "kind"),
        label(Agreement, "kind", _("kind (label)")),
        *fields(Agreement, "title", "summary", "status"),
        label(Agreement, "status", _("status (label)")),
        joined(Agreement, "projects", "pk", _("projects")),
        # The serializer's nested "parties": their organisations' ids, then names.
        joined_related(AgreementParty, "agreement", "organization_id", _("parties")),
        joined_related(AgreementParty, "agreement", "organization__name", _("parties (names)")),
        field(Agreement, "owner"),
        user_name("owner", _("owner (name)")),
        *fields(Agreement, "effective_on", "expires_on", "source", "is_demo"),
        *fields(Agreement, "created_at", "updated_at"),
    ]


def _agreement_status_changes() -> list[Column]:
    return [
        *fields(AgreementStatusChange, "id", "agreement", "from_status"),
        label(AgreementStatusChange, "from_status", _("from (label)")),
        field(AgreementStatusChange, "to_status"),
        label(AgreementStatusChange, "to_status", _("to (label)")),
        *fields(AgreementStatusChange, "changed_at", "changed_by"),
        user_name("changed_by", _("changed by (name)")),
        field(AgreementStatusChange, "note"),
    ]


def _documents() -> list[Column]:
    return [
        *fields(Document, "id", "title", "original_name", "content_type"),
        label(Document, "content_type", _("type (label)")),
        *fields(Document, "size", "sha256", "revision", "previous_version"),
        *fields(Document, "organization", "interaction", "agreement", "commitment"),
        *fields(Document, "notes", "is_demo"),
        user_name("uploaded_by", _("uploaded by (name)")),
        *fields(Document, "uploaded_at", "updated_at"),
        # DocumentSerializer.get_download_url, in SQL.
        Column(
            _("download URL"),
            Concat(
                Value("/api/v1/documents/"),
                Cast("pk", models.TextField()),
                Value("/download/"),
                output_field=models.TextField(),
            ),
        ),
    ]


def _exchange_rates() -> list[Column]:
    return [
        *fields(ExchangeRate, "id", "currency", "rate_on", "xof_per_unit", "note"),
        user_name("created_by", _("entered by (name)")),
        field(ExchangeRate, "created_at"),
    ]


EXPORTERS = {
    Organization: _organizations,
    Person: _people,
    Affiliation: _affiliations,
    Project: _projects,
    Mission: _missions,
    Interaction: _interactions,
    Partnership: _partnerships,
    FollowUp: _follow_ups,
    StageChange: _stage_changes,
    Commitment: _commitments,
    CommitmentStatusChange: _commitment_status_changes,
    Agreement: _agreements,
    AgreementStatusChange: _agreement_status_changes,
    Document: _documents,
    ExchangeRate: _exchange_rates,
}


def columns_for(model) -> list[Column]:
    """The export's columns of ``model``'s list; KeyError for a model with no export."""
    return EXPORTERS[model]()
