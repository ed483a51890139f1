"""Template tags of the organizer workspace's navigation."""

from django import template

from supporters.nearby.selectors import moderation_waiting

register = template.Library()


@register.simple_tag
def moderation_queue_size() -> int:
    """Open reports plus events waiting for approval (two indexed counts)."""
    return moderation_waiting()
