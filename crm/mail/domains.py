"""Organisations' e-mail domains: normalised, and never a public webmail's."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Addresses at these domains say nothing about an organisation: anyone has one.
# A name ending in ".*" stands for that name under any top-level domain.
PUBLIC_WEBMAIL = (
    "gmail.com",
    "googlemail.com",
    "yahoo.*",
    "ymail.com",
    "outlook.*",
    "hotmail.*",
    "live.*",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "aol.com",
    "gmx.*",
    "yandex.*",
    "mail.ru",
    "zoho.com",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "wanadoo.fr",
)

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 20


def is_public_webmail(domain: str) -> bool:
    """Tell whether ``domain`` (lower case) is a public webmail's, or under one."""
    for pattern in PUBLIC_WEBMAIL:
        if pattern.endswith(".*"):
            stem = pattern[:-2]
            head, _dot, _tail = domain.rpartition(".")
            if head == stem or head.endswith("." + stem):
                return True
        elif domain == pattern or domain.endswith("." + pattern):
            return True
    return False


def normalize_email_domains(value: str) -> str:
    """Return ``value``'s domains lower-cased, without '@', comma-separated; or raise.

    Accepts commas, semicolons, spaces or new lines between domains.
    """
    domains: list[str] = []
    for item in re.split(r"[\s,;]+", value or ""):
        domain = item.strip().lower().lstrip("@").rstrip(".")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ValidationError(_("“%(domain)s” is not a domain name.") % {"domain": item[:100]})
        if is_public_webmail(domain):
            raise ValidationError(
                _(
                    "“%(domain)s” is a public webmail domain: anyone can have an address "
                    "there, so it cannot identify an organisation."
                )
                % {"domain": domain}
            )
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise ValidationError(
            _("At most %(count)d domains per organisation.") % {"count": MAX_DOMAINS}
        )
    return ",".join(domains)


def validate_email_domains(value: str) -> None:
    """Refuse a value holding something other than domains, or a public webmail's.

    Forms and serializers store the normalised value (``normalize_email_domains``).
    """
    normalize_email_domains(value)


def domains_of(value: str) -> list[str]:
    return [domain for domain in value.split(",") if domain]
