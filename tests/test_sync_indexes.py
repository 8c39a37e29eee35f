"""Every list the API syncs by ``updated_since`` has an index in its cursor's order."""

import pytest
from django.db import connection

from crm.api.pagination import SyncCursorPagination
from crm.api.urls import router

pytestmark = pytest.mark.django_db


def _model(viewset):
    queryset = getattr(viewset, "queryset", None)
    return queryset.model if queryset is not None else viewset.serializer_class.Meta.model


def _synced_models() -> list:
    # The views whose lists switch to the sync cursor (crm.api.base.CrmViewSet).
    models = {_model(viewset) for _prefix, viewset, _basename in router.registry}
    return sorted(
        (model for model in models if hasattr(model, "updated_at")),
        key=lambda model: model.__name__,
    )


def test_the_synced_lists_are_the_expected_ones():
    assert [model.__name__ for model in _synced_models()] == [
        "Affiliation",
        "Agreement",
        "Commitment",
        "Document",
        "ExchangeRate",
        "FollowUp",
        "Interaction",
        "MailMessage",
        "Organization",
        "Partnership",
        "Person",
    ]


@pytest.mark.parametrize("model", _synced_models(), ids=lambda model: model.__name__)
def test_the_sync_cursor_order_has_an_index(model):
    columns = [model._meta.get_field(name).column for name in SyncCursorPagination.ordering]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)

    indexes = {name: c["columns"] for name, c in constraints.items() if c["index"]}
    assert indexes[f"crm_{model._meta.model_name}_sync_idx"] == columns
