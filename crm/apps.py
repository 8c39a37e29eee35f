from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Compact partnerships")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from crm.roles import sync_role_permissions
        from crm.security import start_session_clock

        # After every migrate, so that a model added later joins the roles
        # without anyone remembering to grant it by hand.
        post_migrate.connect(sync_role_permissions, sender=self)
        # The session's idle and absolute clocks start at login.
        user_logged_in.connect(start_session_clock, dispatch_uid="crm.start_session_clock")

        from crm.search import register_sqlite_functions

        # The accent-blind search's functions, on SQLite (PostgreSQL has
        # unaccent and pg_trgm).
        connection_created.connect(register_sqlite_functions)

        from django.contrib.auth.signals import user_logged_in

        from crm.middleware import remember_language_on_login

        user_logged_in.connect(remember_language_on_login)

        from django.contrib.auth.models import Group

        from crm.roles import role_label

        # The role groups are named in English in the database (the code refers
        # to them by name); wherever a group is shown, its name is translated.
        Group.__str__ = role_label


class CrmAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, whose site is ``crm.admin_site.CrmAdminSite``."""

    default = False  # CrmConfig stays the configuration of the crm app
    default_site = "crm.admin_site.CrmAdminSite"
