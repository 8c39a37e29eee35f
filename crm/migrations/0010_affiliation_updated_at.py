# An affiliation now carries when it last changed, like the other records that
# staff edit: edit forms name the version they were opened on by it.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_sync_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="affiliation",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, default=django.utils.timezone.now, verbose_name="updated at"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalaffiliation",
            name="updated_at",
            field=models.DateTimeField(
                blank=True,
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="updated at",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="affiliation",
            index=models.Index(fields=["updated_at", "id"], name="crm_affiliation_sync_idx"),
        ),
    ]
