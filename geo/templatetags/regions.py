from django import template
from django.utils.translation import get_language

from geo.regions import region_name

register = template.Library()


@register.filter
def region_in_language(region: str, country_code: str) -> str:
    """{{ area.region|region_in_language:area.country_code }}: in the page's language."""
    if not region:
        return region
    return region_name(region, country_code=country_code or "", language=get_language() or "en")
