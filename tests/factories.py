"""factory_boy factories: one valid object each, with variations by keyword."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Source

    slug = factory.Sequence(lambda n: f"source-{n}")
    title = factory.Sequence(lambda n: f"Source {n}")
    kind = models.Source.Kind.ARTICLE


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization

    slug = factory.Sequence(lambda n: f"organization-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    kind = models.Organization.Kind.COMPANY
    country = "US"


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Programme
        django_get_or_create = ("slug",)

    slug = "compact-test"
    name = "Compact (test)"
    funder = factory.SubFactory(
        OrganizationFactory, kind=models.Organization.Kind.DEVELOPMENT_AGENCY
    )
    country = "TG"
    status = models.Programme.Status.FORMULATION


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    programme = factory.SubFactory(ProgrammeFactory)
    code = factory.Sequence(lambda n: f"project-{n}")
    name = factory.Sequence(lambda n: f"Project {n}")
    sector = models.Project.Sector.ICT


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    slug = factory.Sequence(lambda n: f"person-{n}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")


class AffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Affiliation

    person = factory.SubFactory(PersonFactory)
    organization = factory.SubFactory(OrganizationFactory)
    title = "Director"


class MissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Mission

    slug = factory.Sequence(lambda n: f"mission-{n}")
    title = factory.Sequence(lambda n: f"Mission {n}")
    start_on = date(2023, 9, 1)
    end_on = date(2023, 9, 30)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Interaction
        skip_postgeneration_save = True

    kind = models.Interaction.Kind.MEETING
    occurred_on = date(2023, 9, 25)
    title = factory.Sequence(lambda n: f"Meeting {n}")

    @factory.post_generation
    def organizations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organizations.set(extracted)


class PartnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Partnership

    organization = factory.SubFactory(OrganizationFactory)
    project = factory.SubFactory(ProjectFactory)
    role = models.Partnership.Role.TECHNOLOGY_PARTNER
    stage = models.Partnership.Stage.CONTACTED


class StageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.StageChange

    partnership = factory.SubFactory(PartnershipFactory)
    from_stage = models.Partnership.Stage.IDENTIFIED
    to_stage = models.Partnership.Stage.CONTACTED
    changed_at = factory.LazyFunction(timezone.now)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.FollowUp

    title = factory.Sequence(lambda n: f"Follow-up {n}")
    project = factory.SubFactory(ProjectFactory)
    due_on = date(2026, 1, 15)


# Commitments, agreements, documents (issue 12). Statuses other than the first
# are reached through crm.services in the tests, as in the application.


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ExchangeRate

    currency = "USD"
    rate_on = date(2026, 1, 1)
    xof_per_unit = Decimal("600.000000")


class CommitmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Commitment

    partnership = factory.SubFactory(PartnershipFactory)
    kind = models.Commitment.Kind.FINANCING
    description = factory.Sequence(lambda n: f"Commitment {n}")
    amount = Decimal("1000.00")
    currency = "XOF"


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Agreement

    slug = factory.Sequence(lambda n: f"agreement-{n}")
    kind = models.Agreement.Kind.MOU
    title = factory.Sequence(lambda n: f"Agreement {n}")
