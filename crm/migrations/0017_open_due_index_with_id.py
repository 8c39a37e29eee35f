# The team's deadline groups read open follow-ups ORDER BY due_on, id LIMIT 50:
# with the id in the partial index they are read in order from it.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0016_last_interaction"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="followup",
            name="crm_followup_open_due_idx",
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "in_progress", "waiting"])),
                fields=["due_on", "id"],
                name="crm_followup_open_due_idx",
            ),
        ),
    ]
