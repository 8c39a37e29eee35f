# One record per content key (a copy and an inline forward of one message meet
# there). Two workers could insert both before; a duplicate left by such a race
# keeps its record, without the key, so that the constraint can be created.

from django.db import migrations, models
from django.db.models import Count


def forget_duplicate_keys(apps, schema_editor) -> None:
    MailMessage = apps.get_model("crm", "MailMessage")
    duplicated = (
        MailMessage.objects.exclude(content_key="")
        .values("content_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("content_key", flat=True)
    )
    for key in duplicated.iterator():
        first = MailMessage.objects.filter(content_key=key).order_by("pk").first()
        MailMessage.objects.filter(content_key=key).exclude(pk=first.pk).update(content_key="")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0024_cancelled_meeting_not_contact"),
    ]

    operations = [
        migrations.RunPython(forget_duplicate_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="mailmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("content_key", ""), _negated=True),
                fields=("content_key",),
                name="crm_mailmessage_content_key_unique",
            ),
        ),
    ]
