"""The API's resources as the router and the serializers declare them, and one record of each.

Tests that go over "every resource" or "every writable field" read them from
here, never from a hand-made list: a resource or field added later is covered.
"""

import itertools
from dataclasses import dataclass
from datetime import date

from django.core.files.base import ContentFile
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from rest_framework import serializers

from crm import services
from crm.api.urls import router
from tests import factories

PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass(frozen=True)
class Resource:
    prefix: str  # "follow-ups"
    viewset: type
    basename: str  # "followup"

    @property
    def url(self) -> str:
        return f"/api/v1/{self.prefix}/"

    def detail_url(self, pk) -> str:
        return f"/api/v1/{self.prefix}/{pk}/"

    @property
    def writable(self) -> bool:
        return {"post", "put", "patch"} & set(self.viewset.http_method_names) != set()

    @property
    def takes_json(self) -> bool:
        """Whether a client may send this resource JSON (mail takes a message file only)."""
        return any(parser.media_type == "application/json" for parser in self._parsers())

    def _parsers(self) -> list:
        from rest_framework.settings import api_settings

        return self.viewset.parser_classes or api_settings.DEFAULT_PARSER_CLASSES

    def serializer_class(self):
        return self.viewset.serializer_class

    def actions(self) -> list[tuple[str, str]]:
        """Return the POST actions on one record: (url path, method name)."""
        return [
            (action.url_path, action.__name__)
            for action in self.viewset.get_extra_actions()
            if action.detail and "post" in action.mapping
        ]


def resources() -> list[Resource]:
    return [Resource(prefix, viewset, basename) for prefix, viewset, basename in router.registry]


def writable_fields(serializer_class) -> dict[str, serializers.Field]:
    """Return the fields a client may send to ``serializer_class``, by name."""
    return {
        name: field for name, field in serializer_class().fields.items() if not field.read_only
    }


def choice_fields(serializer_class) -> list[str]:
    return [
        name
        for name, field in writable_fields(serializer_class).items()
        if isinstance(field, serializers.ChoiceField)
    ]


@dataclass(frozen=True)
class WriteEndpoint:
    method: str  # "POST" or "PATCH"
    path: str  # "/api/v1/follow-ups/{pk}/complete/"
    serializer_class: type

    @property
    def prefix(self) -> str:
        return self.path.removeprefix("/api/v1/").split("/")[0]

    @property
    def on_record(self) -> bool:
        return "{pk}" in self.path

    def url(self, records) -> str:
        """Return the URL, on the record of ``records`` (``one_of_each``) when it names one."""
        if not self.on_record:
            return self.path
        basename = next(r.basename for r in resources() if r.prefix == self.prefix)
        return self.path.replace("{pk}", str(records[basename].pk))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def write_endpoints(methods=("POST", "PATCH")) -> list[WriteEndpoint]:
    """Return every endpoint that takes a body, with the serializer that reads it.

    Read from the OpenAPI schema generator, which asks each view (and each
    action's ``extend_schema``) for its request serializer: creations, updates
    and every action's payload, without a list kept by hand. Actions without
    a payload (mark-waiting) are left out.
    """
    generator = SchemaGenerator()
    found = []
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        if method not in methods:
            continue
        view = generator.create_view(callback, method)
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        serializer = view.schema.get_request_serializer()
        if isinstance(serializer, dict):  # By media type: multipart for documents.
            serializer = next(iter(serializer.values()))
        if serializer is None:
            continue
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        found.append(WriteEndpoint(method, path, serializer_class))
    return found


_unique = itertools.count()


def valid_value(field: serializers.Field):
    """Return a value ``field`` accepts, from its type (a related record: the first there is)."""
    if isinstance(field, serializers.ManyRelatedField):
        first = field.child_relation.get_queryset().first()
        return [first.pk] if first else []
    if isinstance(field, serializers.RelatedField):
        first = field.get_queryset().first()
        return first.pk if first else None
    if isinstance(field, serializers.MultipleChoiceField):
        return [next(iter(field.choices))]
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    if isinstance(field, serializers.BooleanField):
        return False
    if isinstance(field, serializers.DateTimeField):
        return "2030-01-01T09:00:00Z"
    if isinstance(field, serializers.DateField):
        return "2030-01-01"
    if isinstance(field, serializers.DecimalField):
        return "1.00"
    if isinstance(field, serializers.IntegerField):
        return max(1, field.min_value or 1)
    if isinstance(field, serializers.EmailField):
        return "someone@example.org"
    if isinstance(field, serializers.URLField):
        return "https://example.org/"
    if isinstance(field, serializers.SlugField):
        return f"valid-{next(_unique)}"
    if isinstance(field, serializers.CharField):
        return "x"
    return None


def valid_payload(endpoint: WriteEndpoint) -> dict:
    """Return a body ``endpoint`` accepts as far as each field goes: its required fields."""
    if endpoint.method == "PATCH":
        return {}
    return {
        name: valid_value(field)
        for name, field in writable_fields(endpoint.serializer_class).items()
        if field.required
    }


def one_of_each(by) -> dict[str, object]:
    """Create one record of every resource of the API; return them by router basename."""
    organization = factories.OrganizationFactory()
    project = factories.ProjectFactory()
    partnership = factories.PartnershipFactory(organization=organization, project=project)
    commitment = services.commitment_create(
        by=by,
        partnership=partnership,
        kind="financing",
        description="A grant",
        amount="1000.00",
        currency="XOF",
    )
    agreement = services.agreement_create(
        by=by, slug="mou", kind="mou", title="MoU", parties=[organization]
    )
    interaction = factories.InteractionFactory(organizations=[organization])
    return {
        "organization": organization,
        "person": factories.PersonFactory(),
        "affiliation": factories.AffiliationFactory(organization=organization),
        "project": project,
        "mission": factories.MissionFactory(),
        "interaction": interaction,
        "partnership": partnership,
        "followup": factories.FollowUpFactory(
            project=project, organization=organization, due_on=date(2030, 1, 1)
        ),
        "stagechange": factories.StageChangeFactory(partnership=partnership),
        "commitment": commitment,
        "commitmentstatuschange": commitment.status_changes.first(),
        "agreement": agreement,
        "agreementstatuschange": agreement.status_changes.first(),
        "document": services.document_create(
            by=by, file=ContentFile(PDF, name="note.pdf"), title="Note", organization=organization
        ),
        "exchangerate": factories.ExchangeRateFactory(),
    }
