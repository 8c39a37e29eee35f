"""The site's URLs: one module per concept, as in ``crm.views``, joined here.

The root URLconf (``ROOT_URLCONF = "crm.urls"``). Each concept's module is
included without a prefix, so that its paths read in full where they are
declared; the admin, the API and the login pages keep their own prefixes.
"""

from django.contrib import admin
from django.urls import include, path

from crm.security import healthz

# The views by name, not their modules: importing the submodule crm.urls.accounts
# binds "accounts" in this package, where it would hide crm.views.accounts.
from crm.views.accounts import set_language
from crm.views.dashboard import dashboard
from crm.views.search import search

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("search/", search, name="search"),
    path("", include("crm.urls.privacy")),
    path("", include("crm.urls.directory")),
    path("", include("crm.urls.overview")),
    path("", include("crm.urls.projects")),
    path("", include("crm.urls.partnerships")),
    path("", include("crm.urls.missions")),
    path("", include("crm.urls.meetings")),
    path("", include("crm.urls.follow_ups")),
    path("", include("crm.urls.commitments")),
    path("", include("crm.urls.agreements")),
    path("", include("crm.urls.documents")),
    path("", include("crm.urls.mail")),
    path("", include("crm.urls.jobs")),
    path("", include("crm.urls.choosers")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api.urls")),
    path("", include("crm.urls.accounts")),
    path("accounts/", include("crm.urls.auth")),
    path("healthz", healthz, name="healthz"),
    # Django's set_language, which also saves a logged-in user's choice.
    path("i18n/setlang/", set_language, name="set_language"),
]

# A 404 that explains itself (a document whose file is missing) shows its message.
handler404 = "crm.views.errors.page_not_found"
# A refusal says why, in the site's layout and the reader's language.
handler403 = "crm.views.errors.permission_denied"
