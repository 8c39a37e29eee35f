"""Create the three role groups. Their permissions are set by crm.roles after
every migrate (a post_migrate handler), so that later models are covered."""

from django.db import migrations

ROLES = ["Coordination", "Staff", "Read-only"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("crm", "0001_initial"),
    ]

    operations = [
        # Reversing keeps the groups: they may hold users by then.
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
