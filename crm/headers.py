"""Caching of what a logged-in user is shown: nowhere (``Cache-Control: private, no-store``)."""

from django.utils.cache import patch_cache_control


class PrivateCacheMiddleware:
    """Mark every answer to a logged-in user, page or API, ``private, no-store``.

    Pages and API answers hold the partners' data and the unit's work: no
    shared cache (a proxy between the office and the servers) may keep them,
    and the browser keeps no copy on disk once the session ends (a shared
    computer, the back button after logging out). "Logged in" is the session's
    user, or the API token's (DRF sets ``request.user`` on the Django request
    too). Static files never come here: WhiteNoise answers them first, with
    their own far-future headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
