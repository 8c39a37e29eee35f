# An exchange rate carries when it last changed, like every record edited in the
# admin: its change form names the version it was opened on by it.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0014_commitments_agreements_documents"),
    ]

    operations = [
        migrations.AddField(
            model_name="exchangerate",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, default=django.utils.timezone.now, verbose_name="updated at"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalexchangerate",
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
            model_name="exchangerate",
            index=models.Index(fields=["updated_at", "id"], name="crm_exchangerate_sync_idx"),
        ),
    ]
