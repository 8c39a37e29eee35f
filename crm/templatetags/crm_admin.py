"""Admin template tags: the date hierarchy that does not scan the table."""

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from crm.admin.changelist import bounded_date_hierarchy

register = template.Library()


@register.tag(name="bounded_date_hierarchy")
def bounded_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=bounded_date_hierarchy,
        template_name="date_hierarchy.html",
        takes_context=False,
    )
