"""The sweep (issue 22): every staff page, admin changelist and API list, at each size.

The pages come from the URL resolver and the changelists from the admin site,
so a new page is swept without anyone adding it here. A page whose form has a
search box (``name="q"``), and every changelist with ``search_fields``, is also
asked with a rare word, a common word and digits (``WORDS``). Pages that need a
record are given the heaviest one of its kind in the generated data: the
long-lived partner, its partnership and meetings, the largest mission. A page
whose record the generator does not make (commitments, agreements, documents,
mail) is listed as not swept, with the reason; so are POST-only addresses,
exports (bench/run.py times those against COPY) and the log-in pages.

``sweep(client, runs)`` returns a ``Figure`` per (address, words); ``table``
sets two sizes side by side with the ratio of their times and whether the
statements changed. ``make bench`` writes it to docs/benchmarks.md;
``make bench-smoke`` runs it at a tiny size in CI, so that a page that fails
at any size fails the build.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crm.management.commands.generate_data import COMMON_WORDS, RARE_WORDS
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    Mission,
    Organization,
    Partnership,
    Person,
)

# What staff type: a word in few rows, a word in most, a reference number.
WORDS = {"rare": RARE_WORDS[0], "common": COMMON_WORDS[0], "digits": "0004567"}
# Not pages: the API's own routes are swept through its lists below.
SKIPPED_PREFIXES = ("admin/", "api/", "accounts/", "i18n/", "healthz", "calendar/")
SKIPPED = {
    "follow-up-export": "an export: bench/run.py times exports against COPY",
    "calendar-regenerate": "POST only",
    "api-token-revoke": "POST only",
    "merge": "needs two duplicates; the generator makes none",
}
# What a page needs in its address to open at all.
QUERIES = {"document-new": "?organization={organization}"}
# Addresses that search without a search box on a page: the choosers' lists
# (JSON), swept for organisations, the largest directory.
SEARCHED = {"choose": {"kind": "organizations"}}
# The record kinds the generator does not make.
NOT_GENERATED = ("commitment", "agreement", "document", "mail")


@dataclass
class Swept:
    """One address as asked, its figure at this size, or why it was not swept."""

    label: str
    url: str = ""
    seconds: list[float] = field(default_factory=list)
    queries: int | None = None
    skipped: str = ""
    # Whether it is also asked with WORDS; None: its page tells (a search box).
    searches: bool | None = None

    @property
    def median(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[len(ordered) // 2]


def records() -> dict[str, object]:
    """The heaviest record of each kind the pages show, in the generated data."""
    long_lived = Organization.objects.filter(name__endswith="(long-lived partner)").first()
    partner = long_lived or Organization.objects.order_by("pk").first()
    partnership = Partnership.objects.filter(organization=partner).order_by("pk").first()
    meeting = Interaction.objects.filter(organizations=partner).order_by("-occurred_on").first()
    follow_up = FollowUp.objects.filter(organization=partner).open().order_by("pk").first()
    person = Person.objects.filter(slug__startswith="synthetic-").order_by("pk").first()
    return {
        "organization": partner,
        "partnership": partnership,
        "interaction": meeting,
        "follow_up": follow_up,
        "person": person,
        "affiliation": Affiliation.objects.order_by("pk").first(),
        "mission": Mission.objects.order_by("slug").first(),
        "project": partnership.project if partnership else None,
    }


def _kwargs(name: str, found: dict[str, object]) -> dict | str:
    """Return the URL's parameters for the route ``name``, or why it has none."""
    if name in SEARCHED:
        return SEARCHED[name]
    if name.split("-")[0] in NOT_GENERATED:
        return "no such record in the generated data"
    owner = {
        "person": "person",
        "organization": "organization",
        "partnership": "partnership" if not name.startswith("partnership-new") else "organization",
        "mission": "mission",
        "interaction": "interaction",
        "follow": "follow_up",
        "affiliation": "affiliation",
        "project": "project",
    }.get(name.split("-")[0])
    record = found.get(owner) if owner else None
    if record is None:
        return "no such record in the generated data"
    if owner in ("partnership", "follow_up", "affiliation"):
        return {"pk": record.pk}
    if owner == "project":
        return {"code": record.code}
    return {"slug": record.slug}


def pages(found: dict[str, object]) -> list[Swept]:
    """Every staff page the URL resolver knows, with its parameters or why it is skipped."""
    listed: list[Swept] = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            name = pattern.name
            if name in SKIPPED:
                listed.append(Swept(route or "/", skipped=SKIPPED[name]))
                continue
            kwargs = _kwargs(name, found) if pattern.pattern.converters else {}
            if isinstance(kwargs, str):
                listed.append(Swept(route, skipped=kwargs))
                continue
            query = QUERIES.get(name, "").format(
                **{k: getattr(v, "slug", "") for k, v in found.items()}
            )
            url = reverse(name, kwargs=kwargs or None) + query
            listed.append(Swept(route or "/", url, searches=True if name in SEARCHED else None))

    walk(get_resolver().url_patterns)
    return listed


def changelists() -> list[Swept]:
    """Every model the admin lists, with whether it searches (``search_fields``)."""
    listed = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        listed.append(Swept(url.removeprefix("/"), url, searches=bool(model_admin.search_fields)))
    return sorted(listed, key=lambda swept: swept.label)


def api_lists() -> list[Swept]:
    """Every list of the API, its first page as JSON."""
    listed = []
    for pattern in get_resolver("crm.api.urls").url_patterns:
        name = getattr(pattern, "name", "") or ""
        if name.endswith("-list") and "format" not in pattern.pattern.regex.groupindex:
            url = reverse(name)
            listed.append(Swept(url.removeprefix("/"), url))
    return listed


def timed(client: Client, swept: Swept, runs: int) -> Swept:
    response = client.get(swept.url, secure=True)  # Warm-up.
    if response.status_code == 405:
        swept.skipped = "POST only"
        return swept
    # Anything else than a page is a fault the sweep exists to find (bench-smoke in CI).
    assert response.status_code == 200, (swept.url, response.status_code)
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(swept.url, secure=True)
            swept.seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (swept.url, response.status_code)
        swept.queries = len(captured)
    return swept


def sweep(client: Client, runs: int, *, progress: Callable[[str], None] = print) -> list[Swept]:
    """Time every page, changelist and API list, each search also with ``WORDS``."""
    # The PDF's steps and the refusals of POST-only addresses are not figures.
    for name in ("weasyprint", "fontTools", "django.request"):
        logging.getLogger(name).setLevel(logging.ERROR)
    done: list[Swept] = []
    for swept in [*pages(records()), *changelists(), *api_lists()]:
        if swept.skipped:
            done.append(swept)
            continue
        first = timed(client, swept, runs)
        done.append(first)
        if first.skipped:
            continue
        searches = swept.searches
        if searches is None:
            searches = b'name="q"' in client.get(swept.url, secure=True).content
        for kind, word in WORDS.items() if searches else ():
            joiner = "&" if "?" in swept.url else "?"
            asked = Swept(f"{swept.label} ?q= {kind}", swept.url + joiner + urlencode({"q": word}))
            done.append(timed(client, asked, runs))
        progress(f"swept {first.label}: {first.median * 1000:.0f} ms, {first.queries} statements")
    return done


def table(small: list[Swept], large: list[Swept], sizes: tuple[int, int]) -> str:
    """Both sizes side by side; a ratio above 1.5 or a change of statements is marked ✗."""
    at_large = {swept.label: swept for swept in large}
    lines = [
        f"| page | {sizes[0]:,}: time | statements | {sizes[1]:,}: time | statements | ratio | |",
        "|---|---|---|---|---|---|---|",
    ]
    for swept in small:
        other = at_large.get(swept.label)
        if swept.skipped or other is None or other.skipped:
            reason = swept.skipped or (other.skipped if other else "not at the larger size")
            lines.append(f"| `{swept.label}` | not swept: {reason} | | | | | |")
            continue
        ratio = other.median / swept.median if swept.median else float("inf")
        same = swept.queries == other.queries
        mark = "✓" if ratio <= 1.5 and same else "✗"
        lines.append(
            f"| `{swept.label}` | {swept.median * 1000:,.1f} ms | {swept.queries} "
            f"| {other.median * 1000:,.1f} ms | {other.queries} | {ratio:.2f} | {mark} |"
        )
    return "\n".join(lines)


def words_table(swept: list[Swept], size: int) -> str:
    """At ``size``: each search's common word against its rare one (goal: at most 1.5×)."""
    by_label = {one.label: one for one in swept if not one.skipped}
    lines = [
        f"| search at {size:,} | rare | common | digits | common ÷ rare | |",
        "|---|---|---|---|---|---|",
    ]
    for label, one in by_label.items():
        if not label.endswith("?q= rare"):
            continue
        page = label.removesuffix(" ?q= rare")
        common = by_label.get(f"{page} ?q= common")
        digits = by_label.get(f"{page} ?q= digits")
        if common is None or digits is None:
            continue
        ratio = common.median / one.median if one.median else float("inf")
        lines.append(
            f"| `{page}` | {one.median * 1000:,.1f} ms | {common.median * 1000:,.1f} ms "
            f"| {digits.median * 1000:,.1f} ms | {ratio:.2f} | {'✓' if ratio <= 1.5 else '✗'} |"
        )
    return "\n".join(lines)
