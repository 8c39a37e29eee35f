"""Django's ``loaddata``, with errors that name the fixture row that failed.

Django reports a bad row as ``Could not load crm.Organization(pk=None)``: with
natural keys there is no pk, so nobody can tell which of fifty rows broke. This
command names the model and the row's natural key instead, raises a
``CommandError`` (a clean message on the console, no traceback), and otherwise
behaves exactly like Django's: the whole load is one transaction, so one bad row
leaves the database as it was.
"""

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import CommandError
from django.core.management.commands import loaddata
from django.core.serializers.base import DeserializationError, DeserializedObject
from django.db import DatabaseError, models, router, transaction
from django.utils import timezone


class FixtureRowError(Exception):
    """A fixture row could not be saved; the message names the row.

    Not a ``CommandError`` on purpose: Django's ``load_label`` then prefixes the
    message with the fixture file's name, which only it knows.
    """


class Command(loaddata.Command):
    help = (
        "Install the named fixture(s) in the database; on failure, name the file, "
        "the model and the natural key of the row that failed."
    )

    def handle(self, *fixture_labels, **options) -> None:
        try:
            super().handle(*fixture_labels, **options)
        except (
            FixtureRowError,
            DeserializationError,
            DatabaseError,
            ObjectDoesNotExist,
            ValidationError,
            ValueError,
        ) as error:
            # Django's transaction.atomic() has rolled everything back by now.
            raise CommandError(str(error)) from error

    def save_obj(self, obj: DeserializedObject) -> bool:
        """Save one deserialized object as Django does, naming it if it fails."""
        instance = obj.object
        model = type(instance)
        if model._meta.app_config in self.excluded_apps or model in self.excluded_models:
            return False
        saved = False
        if router.allow_migrate_model(self.using, model):
            self.models.add(model)
            _fill_record_timestamps(instance, using=self.using)
            try:
                # One savepoint per row: after a failed statement PostgreSQL
                # refuses every query until a rollback, and naming the row may
                # need queries (an affiliation's key is its person's slug…).
                with transaction.atomic(using=self.using):
                    obj.save(using=self.using)
            # psycopg raises ValueError on NUL characters; Django catches it too.
            except (DatabaseError, ValidationError, ValueError) as error:
                raise FixtureRowError(
                    f"Could not load {model._meta.label} {_describe(instance)}: {error}"
                ) from error
            saved = True
        if obj.deferred_fields:
            self.objs_with_deferred_fields.append(obj)
        return saved


def _describe(instance: models.Model) -> str:
    """Return the row's natural key, else a summary of its field values."""
    if hasattr(instance, "natural_key"):
        try:
            return f"with natural key {instance.natural_key()!r}"
        except Exception:
            pass  # A key that cannot be computed must not hide the real error.
    values = {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }
    return f"with fields {values!r}"


def _fill_record_timestamps(instance: models.Model, *, using: str) -> None:
    """Set ``auto_now``/``auto_now_add`` timestamps that the fixture leaves out.

    Fixtures are saved raw, so Django does not fill these, and a NOT NULL column
    then refuses the row. A fixture of facts should not carry invented record
    dates: a row gets the time it was loaded, and a row loaded again keeps the
    creation time it already has.
    """
    missing = [
        field
        for field in instance._meta.concrete_fields
        if isinstance(field, models.DateTimeField)
        and (field.auto_now or field.auto_now_add)
        and getattr(instance, field.attname) is None
    ]
    if not missing:
        return
    existing = None
    if instance.pk is not None:
        existing = (
            type(instance)
            ._base_manager.using(using)
            .filter(pk=instance.pk)
            .values(*(field.attname for field in missing))
            .first()
        )
    now = timezone.now()
    for field in missing:
        value = now
        if field.auto_now_add and not field.auto_now and existing:
            value = existing[field.attname]
        setattr(instance, field.attname, value)
