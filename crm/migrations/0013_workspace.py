# The staff workspace (issue 11):
# - every partnership has an owner: those without one fall to their project's lead;
# - a person's chosen language of the pages is kept on their profile;
# - Merge records two organisations or two people merged into one;
# - on PostgreSQL, the extensions of the accent- and typo-tolerant search
#   (unaccent, pg_trgm); SQLite gets Python functions at connection time instead
#   (crm.search).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def unowned_partnerships_to_the_project_lead(apps, schema_editor):
    """Give each partnership without an owner to its project's lead, recording it in history."""
    Partnership = apps.get_model("crm", "Partnership")
    HistoricalPartnership = apps.get_model("crm", "HistoricalPartnership")
    from django.utils import timezone

    now = timezone.now()
    unowned = Partnership.objects.filter(
        owner__isnull=True, project__lead__isnull=False
    ).select_related("project")
    for partnership in unowned.iterator(chunk_size=500):
        partnership.owner_id = partnership.project.lead_id
        partnership.updated_at = now
        # update(), not save(): no signal fires, so the one history row saying
        # who changed what and why is the one written below, on every registry.
        Partnership.objects.filter(pk=partnership.pk).update(
            owner_id=partnership.owner_id, updated_at=now
        )
        fields = {
            field.attname: getattr(partnership, field.attname)
            for field in Partnership._meta.concrete_fields
        }
        HistoricalPartnership.objects.create(
            **fields,
            history_date=now,
            history_type="~",
            history_change_reason="Owner: the project's lead (partnership had no owner).",
        )


def create_search_extensions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0012_changelist_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="staffprofile",
            name="interface_language",
            field=models.CharField(
                blank=True,
                choices=[("fr", "French"), ("en", "English")],
                help_text=(
                    "Saved when the person switches language; it wins over the browser's. "
                    "Empty: French."
                ),
                max_length=2,
                verbose_name="language of the pages",
            ),
        ),
        migrations.AddConstraint(
            model_name="staffprofile",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("interface_language", ""),
                    ("interface_language__in", ["fr", "en"]),
                    _connector="OR",
                ),
                name="crm_staffprofile_interface_language_valid",
            ),
        ),
        migrations.RunPython(
            unowned_partnerships_to_the_project_lead, migrations.RunPython.noop, elidable=True
        ),
        migrations.RunPython(create_search_extensions, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Merge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("organization", "Organisation"), ("person", "Person")],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("kept_id", models.PositiveBigIntegerField(verbose_name="record kept")),
                (
                    "kept_name",
                    models.CharField(max_length=300, verbose_name="name of the record kept"),
                ),
                (
                    "removed_id",
                    models.PositiveBigIntegerField(verbose_name="record merged into it"),
                ),
                (
                    "removed_slug",
                    models.CharField(max_length=100, verbose_name="slug of the record merged"),
                ),
                (
                    "removed_name",
                    models.CharField(max_length=300, verbose_name="name of the record merged"),
                ),
                ("moved", models.JSONField(default=dict, verbose_name="what moved")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("merged_at", models.DateTimeField(verbose_name="merged at")),
                (
                    "merged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="merged by",
                    ),
                ),
            ],
            options={
                "verbose_name": "merge",
                "verbose_name_plural": "merges",
                "ordering": ["-merged_at", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["organization", "person"])),
                        name="crm_merge_kind_valid",
                    )
                ],
            },
        ),
    ]
