"""Who may call what: the model permissions of the three role groups."""

from rest_framework import permissions


class RolePermissions(permissions.DjangoModelPermissions):
    """Require the model permission that the request's method stands for.

    DRF's own class lets any authenticated user read; here reading needs the
    ``view_`` permission too. Actions that change an existing record through a
    service (complete, change-stage) are POSTs that need ``change_``, not
    ``add_``: a view lists them in ``change_actions``.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "action", None) in getattr(view, "change_actions", ()):
            queryset = self._queryset(view)
            return request.user.has_perms(self.get_required_permissions("PUT", queryset.model))
        return super().has_permission(request, view)
