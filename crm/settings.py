"""Settings for the Compact partnership CRM, read from the environment.

Every value a deployment changes comes from an environment variable; see the README
for the list. Nothing secret is written here.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from crm.env import env_bool, env_int, env_list, env_networks, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (required when DJANGO_DEBUG is off).")
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # django.contrib.admin, with the login and password forms of crm.logins.
    "crm.apps.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "crm",
]

MIDDLEWARE = [
    # First: load balancers probe by IP and over plain HTTP (crm/security.py).
    "crm.security.HealthCheckMiddleware",
    # Before anything reads X-Forwarded-*: only CRM_TRUSTED_PROXIES may send them.
    "crm.security.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy below, on every response.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # LocaleMiddleware, but the user's chosen language wins over the browser's.
    "crm.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known; static files were answered before (WhiteNoise).
    "crm.headers.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "crm.security.SessionTimeoutMiddleware",
    "crm.security.HostileParameterMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# An SQLite file by default; PostgreSQL (or any engine) through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock
    # at BEGIN, so two writers queue instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL compiles a query to machine code (JIT) once its estimated cost
    # passes a threshold, which the gone-quiet list's fallback subqueries reach
    # on paper: the compiling took 0.9 s of a 10 ms query at a million
    # follow-ups. Our queries are short; compiling them never pays.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
# English pages write dates day first, as British English does (crm/formats/en).
FORMAT_MODULE_PATH = ["crm.formats"]
LOCALE_PATHS = [BASE_DIR / "crm" / "locale"]
TIME_ZONE = "Africa/Lome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Kept documents (crm/storage.py): outside every served URL; S3 in docs/documents.md.
    "documents": {
        "BACKEND": env_str(
            "CRM_DOCUMENTS_BACKEND", default="crm.storage.PrivateFileSystemStorage"
        ),
        "OPTIONS": {
            "location": env_str("CRM_DOCUMENTS_ROOT", default=str(BASE_DIR / "private")),
            "base_url": None,
        }
        if not env_str("CRM_DOCUMENTS_BUCKET", default="")
        else {
            "bucket_name": env_str("CRM_DOCUMENTS_BUCKET"),
            "location": "documents",
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a proxy that terminates TLS, trust its X-Forwarded-Proto so that absolute
# URLs (the private calendar address above all) are https, never http.
if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, images, fonts and
# requests from this site only, and nothing inline, so that markup slipped into a
# page cannot run or restyle it; no plugins, no framing, <base> and forms
# pointing to this site only. The pages keep to it (tests/test_headers.py): no inline script,
# event handler or style anywhere. Only the API's documentation pages, whose
# third-party UIs style themselves, loosen style-src (crm/api/urls.py); a
# downloaded document gets "default-src 'none'; sandbox" instead.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# HTTPS only, in production (README, "Production"): redirect plain HTTP and tell
# browsers never to try it again for this long. The health check is exempt: load
# balancers probe over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)

# Sessions: closed after CRM_SESSION_IDLE_MINUTES without a request, and after
# CRM_SESSION_MAX_HOURS in any case (crm.security.SessionTimeoutMiddleware); the
# cookie dies with the browser and never outlives the session.
CRM_SESSION_IDLE_MINUTES = env_int("CRM_SESSION_IDLE_MINUTES", default=60)
CRM_SESSION_MAX_HOURS = env_int("CRM_SESSION_MAX_HOURS", default=10)
if CRM_SESSION_IDLE_MINUTES < 1 or CRM_SESSION_MAX_HOURS < 1:
    raise ImproperlyConfigured("CRM_SESSION_IDLE_MINUTES and CRM_SESSION_MAX_HOURS must be ≥ 1.")
SESSION_COOKIE_AGE = CRM_SESSION_MAX_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The proxies in front of the app servers (load balancer, nginx): addresses or
# networks (CIDR), comma-separated. Only a request whose direct peer is one of
# them may carry X-Forwarded-For (the client's address, for login lock-outs, the
# password-reset limit and the export log) and X-Forwarded-Proto; from anyone
# else both are dropped (crm.security). Empty: no forwarded header is believed.
CRM_TRUSTED_PROXIES = env_networks("CRM_TRUSTED_PROXIES")
if env_str("CRM_TRUSTED_PROXY_COUNT", default="").strip() not in ("", "0"):
    # A count believed the header from any peer; its meaning cannot be carried over.
    raise ImproperlyConfigured(
        "CRM_TRUSTED_PROXY_COUNT is replaced by CRM_TRUSTED_PROXIES: list the proxies' "
        "addresses (e.g. CRM_TRUSTED_PROXIES=10.0.0.5) and remove CRM_TRUSTED_PROXY_COUNT."
    )
if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False) and not CRM_TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "DJANGO_BEHIND_TLS_PROXY needs CRM_TRUSTED_PROXIES: the addresses of the proxies "
        "whose X-Forwarded-Proto is believed."
    )

# Login protection (django-axes): after CRM_LOGIN_FAILURE_LIMIT failed logins for
# one user name from one address, on the site's or the admin's login form or as
# the current password of a password change, that pair is locked out for
# CRM_LOGIN_COOLOFF_MINUTES (0: until Coordination unlocks it in the admin,
# "Access attempts"); after CRM_LOGIN_ADDRESS_FAILURE_LIMIT failures from one
# address, whatever the user names, that address is (crm.logins). A lock-out
# runs from the failure that started it: failures while locked out are refused
# without moving it on, so nobody sharing an address keeps a colleague locked
# out for good. Kept in the database: every app server sees the same count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CRM_LOGIN_FAILURE_LIMIT", default=5)
CRM_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("CRM_LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
if not 1 <= AXES_FAILURE_LIMIT <= CRM_LOGIN_ADDRESS_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        "CRM_LOGIN_FAILURE_LIMIT must be ≥ 1, and CRM_LOGIN_ADDRESS_FAILURE_LIMIT at least as "
        "high: the address's limit counts the failures of every user name."
    )
_cooloff_minutes = env_int("CRM_LOGIN_COOLOFF_MINUTES", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "crm.logins.LoginLimitsHandler"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "crm.security.client_ip"
AXES_LOCKOUT_CALLABLE = "crm.security.lockout_response"
# The admin registered in crm/admin/security.py replaces axes' own.
AXES_ENABLE_ADMIN = False

# Password reset by e-mail: off unless turned on; then at most
# CRM_PASSWORD_RESET_PER_HOUR requests an hour per address and per e-mail.
CRM_PASSWORD_RESET_ENABLED = env_bool("CRM_PASSWORD_RESET_ENABLED", default=False)
CRM_PASSWORD_RESET_PER_HOUR = env_int("CRM_PASSWORD_RESET_PER_HOUR", default=5)

# Cache: per process by default (throttle counts are then per app server);
# "database" shares it between servers (run `manage.py createcachetable` once).
_cache = env_str("CRM_CACHE", default="locmem")
if _cache not in ("locmem", "database"):
    raise ImproperlyConfigured(f"CRM_CACHE={_cache!r}: use locmem or database.")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache"
        if _cache == "database"
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "crm_cache",
    }
}

# How many days without an interaction before a partnership counts as stale, by
# stage, where the partnership sets no cadence of its own. Closed partnerships are
# never stale.
CRM_CONTACT_CADENCE_DAYS = {
    "identified": 30,
    "contacted": 21,
    "exploring": 21,
    "proposal": 14,
    "agreement": 30,
    "active": 45,
    "on_hold": 90,
}

# The REST API (crm/api/): tokens or the session, permissions by role, bounded
# pages. Token authentication comes first so that a request without credentials
# gets 401 with a WWW-Authenticate header, not 403.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.RolePermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "crm.api.filters.FilterBackend",
        "crm.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.PageNumberPagination",
    "DEFAULT_PARSER_CLASSES": [
        "crm.api.parameters.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Per personal token and per logged-in user (session); rates like
    # "2000/hour" (crm/api/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api.throttling.TokenRateThrottle",
        "crm.api.throttling.SessionUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_rate("CRM_API_RATE_TOKEN", default="2000/hour"),
        "user": env_rate("CRM_API_RATE_USER", default="2000/hour"),
    },
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Compact partnerships API",
    "DESCRIPTION": (
        "Organisations, people, missions, interactions, partnerships and follow-ups of "
        "the Togo MCC Compact coordination unit. Authenticate with a personal token "
        "(`Authorization: Token <key>`, made on /account/tokens/) or the session. "
        "Every list answers `?format=csv` and `?format=xlsx` with all matching rows."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DatePrecisionEnum": "crm.models.DatePrecision",
        "LanguageEnum": "crm.models.Language",
        "PartnershipStageEnum": "crm.models.PartnershipStage",
        "FollowUpStatusEnum": "crm.models.FollowUpStatus",
        "CommitmentStatusEnum": "crm.models.CommitmentStatus",
        "AgreementStatusEnum": "crm.models.AgreementStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.add_error_responses",
    ],
    # The docs page loads Swagger UI and ReDoc from our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# E-mail: the daily digests and assignment notices (docs/reminders.md). In
# development the console backend prints them instead of sending.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="Compact CRM <crm@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# Links in e-mails are absolute: there is no request to take the host from.
CRM_BASE_URL = env_str("CRM_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# A digest claim still "sending" after this many minutes belongs to a run that
# died; the next run (hourly, docs/deploy.md) takes it back.
CRM_DIGEST_CLAIM_LEASE_MINUTES = env_int("CRM_DIGEST_CLAIM_LEASE_MINUTES", default=10)

# Exports and calendar fetches are logged (ExportLog); `purge_export_log` deletes
# entries older than this many days.
CRM_EXPORT_LOG_RETENTION_DAYS = env_int("CRM_EXPORT_LOG_RETENTION_DAYS", default=365)

# People with no contact for this many years are erased by `apply_retention`
# (crm/retention.py says what counts as contact); the digest warns the
# data-protection officer 30 days before.
CRM_PERSON_RETENTION_YEARS = env_int("CRM_PERSON_RETENTION_YEARS", default=5)

# Who read a person's data (their page, a list of people exported) is logged
# (PersonRead, for the data-protection officer); `purge_access_log` deletes
# entries older than this many days.
CRM_ACCESS_LOG_RETENTION_DAYS = env_int("CRM_ACCESS_LOG_RETENTION_DAYS", default=365)

# Where the server and its backups are (a country, a provider): the register of
# processing (crm/privacy_register.py) states it, for the IPDCP declaration.
CRM_HOSTING_LOCATION = env_str("CRM_HOSTING_LOCATION", default="")

# Every erasure (crm/services/erasure.py) appends the erased person's id to this
# file, kept apart from the database and its backups: after restoring a backup
# older than an erasure, `manage.py replay_erasures` erases them again
# (docs/backup.md). It holds ids and dates, nothing about the people.
CRM_ERASURE_LEDGER = env_str(
    "CRM_ERASURE_LEDGER", default=str(BASE_DIR / "var" / "erasures.jsonl")
)

# `dumpdata` keeps timestamps to the microsecond, so a restored copy keeps every
# record's ETag (docs/backup.md).
SERIALIZATION_MODULES = {"json": "crm.serializers_json"}

# Documents (crm/documents.py): the largest file accepted, in bytes (20 MiB).
CRM_DOCUMENT_MAX_BYTES = env_int("CRM_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)

# Mail (crm/mail/, docs/mail.md): the largest message accepted by the upload,
# API and mailbox doors, in bytes (25 MiB), refused before it is parsed.
CRM_MAIL_MAX_BYTES = env_int("CRM_MAIL_MAX_BYTES", default=25 * 1024 * 1024)
# `purge_mail_bodies` blanks the bodies (and the stored message) of mail older
# than this many days, keeping the meeting and the headers.
CRM_MAIL_BODY_RETENTION_DAYS = env_int("CRM_MAIL_BODY_RETENTION_DAYS", default=730)
# The shared mailbox (docs/mail.md, "Shared mailbox"): `manage.py fetch_mail` reads
# it over IMAP with TLS (implicit, port 993, or STARTTLS, port 143), the
# certificate always verified (against CRM_MAIL_IMAP_CAFILE when set, else the
# system's authorities). No host: the door is off.
CRM_MAIL_IMAP_HOST = env_str("CRM_MAIL_IMAP_HOST", default="").strip()
CRM_MAIL_IMAP_SECURITY = env_str("CRM_MAIL_IMAP_SECURITY", default="tls").strip().lower()
if CRM_MAIL_IMAP_SECURITY not in ("tls", "starttls"):
    raise ImproperlyConfigured(
        f"CRM_MAIL_IMAP_SECURITY={CRM_MAIL_IMAP_SECURITY!r}: use tls or starttls."
    )
CRM_MAIL_IMAP_PORT = env_int(
    "CRM_MAIL_IMAP_PORT", default=993 if CRM_MAIL_IMAP_SECURITY == "tls" else 143
)
CRM_MAIL_IMAP_USER = env_str("CRM_MAIL_IMAP_USER", default="")
CRM_MAIL_IMAP_PASSWORD = env_str("CRM_MAIL_IMAP_PASSWORD", default="")
CRM_MAIL_IMAP_FOLDER = env_str("CRM_MAIL_IMAP_FOLDER", default="INBOX")
# Where a message goes once it is stored, and where one too large to download
# goes once its headers are recorded; both created when missing.
CRM_MAIL_IMAP_PROCESSED_FOLDER = env_str("CRM_MAIL_IMAP_PROCESSED_FOLDER", default="Traités")
CRM_MAIL_IMAP_REFUSED_FOLDER = env_str("CRM_MAIL_IMAP_REFUSED_FOLDER", default="Refusés")
CRM_MAIL_IMAP_CAFILE = env_str("CRM_MAIL_IMAP_CAFILE", default="")
CRM_MAIL_IMAP_TIMEOUT = env_int("CRM_MAIL_IMAP_TIMEOUT", default=60)

# Jobs (crm/jobs.py, docs/deploy.md): work too long for a request runs in
# `manage.py run_jobs`, from a queue kept in the database (django-tasks-db).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The job workers run the scheduled commands (crm/schedule.py: the mailbox every
# 5 minutes, the digests hourly, the weekly summary, the retention run daily),
# each once per period across every host. 0: cron runs them (docs/deploy.md).
CRM_SCHEDULE = env_bool("CRM_SCHEDULE", default=True)
# An export (API or staff page) of more rows than this is written by a job and
# downloaded from its page; smaller ones are answered at once. 10,000 rows of
# follow-ups take 0.5 s as XLSX on an idle server, 1.8 s on a loaded one
# (docs/performance.md, "Exports as jobs").
CRM_EXPORT_JOB_THRESHOLD = env_int("CRM_EXPORT_JOB_THRESHOLD", default=10_000)
# A finished export's file (and its job) is deleted after this many days.
CRM_EXPORT_FILE_RETENTION_DAYS = env_int("CRM_EXPORT_FILE_RETENTION_DAYS", default=7)
# The largest spreadsheet of contacts a staff page or the admin takes (bytes);
# any file of more than importing.ADMIN_MAX_ROWS rows is imported by a job.
# nginx's limit for the import pages follows (docs/nginx/crm.conf).
CRM_IMPORT_MAX_BYTES = env_int("CRM_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
# A running job that has not reported progress for this many seconds belongs to
# a worker that died (killed, host lost): it is run again, up to
# CRM_JOB_MAX_ATTEMPTS attempts in all, then marked failed and its requester told.
CRM_JOB_STALE_SECONDS = env_int("CRM_JOB_STALE_SECONDS", default=120)
CRM_JOB_MAX_ATTEMPTS = env_int("CRM_JOB_MAX_ATTEMPTS", default=2)
