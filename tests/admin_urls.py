"""The admin's URL patterns as the resolver knows them, filled with chosen values.

Tests that go over "every admin URL" read the patterns from here, so that a
model or a view added to the admin later is covered without a new line.
"""

from collections.abc import Iterator

from django.contrib import admin
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse

# Values that are no record's id, each one a former 500 somewhere: letters, a
# superscript digit int() refuses, a NUL (PostgreSQL refuses it), a float's
# spelling, a negative, and a number past any bigint.
JUNK_IDS = ["abc", "²", "\x00", "1e3", "-1", "1" * 30]


def _patterns(patterns) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        elif pattern.name:
            yield pattern


def _arguments(pattern: URLPattern) -> list[str]:
    """Return the names of ``pattern``'s arguments (or their positions, when unnamed)."""
    route = pattern.pattern
    named = list(getattr(route, "converters", {})) or list(route.regex.groupindex)
    return named or [str(index) for index in range(route.regex.groups)]


def urls_with_junk(junk: str, valid_ids: dict[str, str]) -> Iterator[str]:
    """Yield every admin URL with an argument, ``junk`` in one argument at a time.

    The other arguments take a value that exists: the id of the model's record
    in ``valid_ids`` (by admin URL name prefix, e.g. "crm_followup"), else "1";
    an action name takes an action the admin has.
    """
    for pattern in _patterns(admin.site.urls[0]):
        names = _arguments(pattern)
        if not names:
            continue
        model_prefix = _model_prefix(pattern.name)
        for position in range(len(names)):
            values = []
            for index, name in enumerate(names):
                if index == position:
                    values.append(junk)
                elif name == "action":
                    values.append(_an_action(model_prefix))
                else:
                    values.append(valid_ids.get(model_prefix, "1"))
            yield from _reversed(pattern, names, values)


def _model_prefix(url_name: str) -> str:
    """Return "app_model" of an admin URL name ("crm_followup_simple_history" → "crm_followup")."""
    prefixes = [
        f"{model._meta.app_label}_{model._meta.model_name}" for model in admin.site._registry
    ]
    matches = [prefix for prefix in prefixes if url_name.startswith(f"{prefix}_")]
    return max(matches, key=len, default="")


def _an_action(model_prefix: str) -> str:
    for model, model_admin in admin.site._registry.items():
        if f"{model._meta.app_label}_{model._meta.model_name}" == model_prefix:
            actions = [name for name in model_admin.actions or () if isinstance(name, str)]
            return actions[0] if actions else "delete_selected"
    return "delete_selected"


def _reversed(pattern: URLPattern, names: list[str], values: list[str]) -> Iterator[str]:
    try:
        if names[0].isdigit():
            yield reverse(f"admin:{pattern.name}", args=values)
        else:
            yield reverse(f"admin:{pattern.name}", kwargs=dict(zip(names, values, strict=True)))
    except NoReverseMatch:
        # A converter refuses the value (e.g. <int:…>): the resolver answers
        # 404 before any view, which is what is wanted.
        return


def date_hierarchies() -> list[tuple[str, str]]:
    """Return (changelist URL, field) of every admin changelist with a date hierarchy."""
    return [
        (
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
            model_admin.date_hierarchy,
        )
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    ]
