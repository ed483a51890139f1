"""A list with every kind of row an import meets, and the problems it should report."""

HEADER = (
    "email,name,phone,location,lat,lon,tags,joined_at,"
    "consent_email_updates,consent_public_map,consent_source"
)
ROWS = [
    # 2: good, a city from the gazetteer (Cyrillic), consents with their source
    "anna@example.org,Анна,+7 900 000-00-00,Казань,,,volunteer|driver,2024-05-01,yes,да,"
    "paper form at the rally",
    # 3: good, a point
    "boris@example.org,Boris,,,58.01,56.25,,,no,,",
    # 4: bad email
    "not-an-email,Bad,,Казань,,,,,,,",
    # 5: a place nobody knows
    "carl@example.org,Carl,,Qwxzvbnm,,,,,,,",
    # 6: too few fields
    "dora@example.org,Dora",
    # 7: a consent value that is neither yes nor no
    "erik@example.org,Erik,,Пермь,,,,,maybe,,x",
    # 8: latitude out of range
    "fay@example.org,Fay,,,95,10,,,,,",
    # 9: the same address as row 2
    "ANNA@example.org,Anna again,,Москва,,,,,,,",
    # 10: consent without saying where it was given
    "gus@example.org,Gus,,Москва,,,,,yes,,",
    # 11: good, no name (the address's local part is used), no consent
    "hana@example.org,,,Екатеринбург,,,,,,,",
    # 12: two problems at once: bad phone and a date in the future
    "ivan@example.org,Ivan,call me,Москва,,,,2999-01-01,,,",
]
BAD = {
    (4, "email"),
    (5, "location"),
    (6, "*"),
    (7, "consent_email_updates"),
    (8, "lat/lon"),
    (9, "email"),
    (10, "consent_source"),
    (12, "phone"),
    (12, "joined_at"),
}


def sample(rows=ROWS, header=HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"
