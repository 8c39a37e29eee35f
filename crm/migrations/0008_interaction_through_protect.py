"""Interaction.people and .projects through explicit tables, PROTECT on the far side.

The tables exist already (the plain many-to-many made them): only Django's idea
of them changes. The models keep the table names, the columns and the unique
pair (unique_together, under the name Django gave it), so the database needs no
operation; ``on_delete`` lives in Python, not in the schema.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0007_pending_imports"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="InteractionPerson",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("interaction", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="crm.interaction", verbose_name="interaction")),
                        ("person", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="crm.person", verbose_name="person")),
                    ],
                    options={
                        "verbose_name": "person met",
                        "verbose_name_plural": "people met",
                        "db_table": "crm_interaction_people",
                        "unique_together": {("interaction", "person")},
                    },
                ),
                migrations.AlterField(
                    model_name="interaction",
                    name="people",
                    field=models.ManyToManyField(blank=True, related_name="interactions", through="crm.InteractionPerson", to="crm.person", verbose_name="people met"),
                ),
                migrations.CreateModel(
                    name="InteractionProject",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("interaction", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="crm.interaction", verbose_name="interaction")),
                        ("project", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="crm.project", verbose_name="project")),
                    ],
                    options={
                        "verbose_name": "project discussed",
                        "verbose_name_plural": "projects discussed",
                        "db_table": "crm_interaction_projects",
                        "unique_together": {("interaction", "project")},
                    },
                ),
                migrations.AlterField(
                    model_name="interaction",
                    name="projects",
                    field=models.ManyToManyField(blank=True, related_name="interactions", through="crm.InteractionProject", to="crm.project", verbose_name="projects discussed"),
                ),
            ],
            database_operations=[],
        ),
    ]
