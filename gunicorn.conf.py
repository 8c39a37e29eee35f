"""Gunicorn settings for the app servers (docs/deploy.md), each overridable from the environment.

    gunicorn -c gunicorn.conf.py crm.wsgi

Sync workers: every request is short (pages are bounded, exports streamed,
large imports go through ``import_contacts``), so processes, not threads, and
as many as the cores can feed.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request longer than this is killed and logged: exports of every row stay
# well under it; the largest imports belong to the command, not the browser.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then, so that no slow leak grows unbounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Refuse absurd request lines and headers before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Only the load balancer may set X-Forwarded-* (comma-separated addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# The path without the query string: search terms and filters stay out of the
# log. Calendar addresses are secrets in the path: keep the logs confidential.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
