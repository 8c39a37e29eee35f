"""Slugs for records made on the staff pages, where nobody types one."""

from django.utils.text import slugify


def unique_slug(model, text: str, *, max_length: int = 100) -> str:
    """Return a slug made from ``text`` that no row of ``model`` uses yet.

    A race with another request making the same slug is left to the unique
    constraint: one of the two saves fails rather than both sharing the slug.
    """
    base = slugify(text)[: max_length - 5].strip("-") or model._meta.model_name
    taken = set(
        model._base_manager.filter(slug__startswith=base).values_list("slug", flat=True)[:1000]
    )
    slug, number = base, 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    return slug
