"""Typed readers for settings that come from the environment.

Each helper fails loudly, naming the variable, instead of letting a typo such as
``DJANGO_DEBUG=ture`` silently fall back to a default.
"""

import ipaddress
import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or ``default``; fail if neither is there."""
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable read as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1, 0, true, false, yes, no, on, off."
    )


def env_int(name: str, default: int) -> int:
    """Return the variable read as an integer."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return the variable split on commas, blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_RE = re.compile(r"[0-9]+/(second|minute|hour|day)")


def env_rate(name: str, default: str) -> str:
    """Return the variable read as a request rate such as ``2000/hour``."""
    value = os.environ.get(name, default).strip()
    if not _RATE_RE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write a number, a slash and second, "
            "minute, hour or day (e.g. 2000/hour)."
        )
    return value


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def env_networks(name: str) -> list[IPNetwork]:
    """Return the variable read as comma-separated addresses or networks (CIDR).

    ``10.0.0.5`` is the one address; ``10.0.0.0/24`` a network, written with its
    host bits zero (``10.0.0.5/24`` is refused: which was meant?).
    """
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an address or a network ({error}); write e.g. "
                "10.0.0.5 or 10.0.0.0/24, separated by commas."
            ) from None
    return networks
