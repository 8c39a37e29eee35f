"""The API's resources as the router and the serializers declare them, and one record of each.

Tests that go over "every resource" or "every writable field" read them from
here, never from a hand-made list: a resource or field added later is covered.
"""

from dataclasses import dataclass
from datetime import date

from django.core.files.base import ContentFile
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
