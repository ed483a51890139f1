"""Composing the emails Sosedi sends, in the recipient's language."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from supporters import links


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def manage_url(supporter) -> str:
    return absolute(reverse("supporters:manage", args=[links.MANAGE.make(supporter.pk)]))


def confirm_url(supporter) -> str:
    return absolute(reverse("supporters:confirm", args=[links.CONFIRM.make(supporter.pk)]))


def render(template: str, *, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) from templates/<folder>/email/<name>.txt for `template`
    "<folder>/<name>", first line the subject."""
    folder, name = template.split("/")
    context = {"manage_link_days": settings.SOSEDI_MANAGE_LINK_MAX_AGE // 86400, **context}
    with translation.override(language):
        text = render_to_string(f"{folder}/email/{name}.txt", context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"
