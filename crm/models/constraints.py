"""Named database constraints shared by the models (``crm_<model>_<rule>``)."""

from django.db import models
from django.db.models import F, Q


def choices_constraint(field: str, choices: type[models.TextChoices], model: str):
    """Return a CheckConstraint keeping ``field`` within ``choices``."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}),
        name=f"crm_{model}_{field}_valid",
    )


def span_constraint(start: str, end: str, model: str):
    """Return a CheckConstraint requiring ``end`` on or after ``start``."""
    return models.CheckConstraint(
        condition=Q(**{f"{start}__isnull": True})
        | Q(**{f"{end}__isnull": True})
        | Q(**{f"{end}__gte": F(start)}),
        name=f"crm_{model}_{end}_after_{start}",
    )
