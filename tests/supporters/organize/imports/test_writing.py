"""Writing import rows: known addresses updated, never duplicated; what a row leaves out kept."""

import pytest

from supporters.models import Supporter
from supporters.organize.imports import import_text
from supporters.organize.models import Tagging
from tests.supporters.organize.imports.sample import sample


@pytest.mark.django_db
def test_importing_again_updates_by_email_without_duplicates(make_supporter):
    make_supporter(email="Known@Example.org", name="Old Name", consents=["public_map"])
    outcome = import_text(
        sample(
            ["known@example.org,New Name,,Казань,,,member,,yes,,list of 2023"],
        )
    )
    assert (outcome.created, outcome.updated, outcome.errors) == (0, 1, [])
    person = Supporter.objects.get()
    assert person.display_name == "New Name" and person.city == "Kazan"
    assert person.consent_email_updates and person.consent_public_map  # empty cell: unchanged
    assert Tagging.objects.get().name == "member"


@pytest.mark.django_db
def test_a_known_person_keeps_name_and_language_the_file_does_not_give(make_supporter):
    make_supporter(email="olga@example.org", name="Ольга", language="ru")
    make_supporter(email="petr@example.org", name="Пётр", language="ru")
    outcome = import_text(
        "email,location\nolga@example.org,Казань\n"  # no name or language column at all
    )
    outcome2 = import_text("email,name,language,location\npetr@example.org,,,Пермь\n")
    assert (outcome.updated, outcome2.updated, outcome.errors, outcome2.errors) == (1, 1, [], [])
    olga, petr = Supporter.objects.order_by("email")
    assert (olga.display_name, olga.language, olga.city) == ("Ольга", "ru", "Kazan")
    assert (petr.display_name, petr.language, petr.city) == ("Пётр", "ru", "Perm")
    import_text("email,name,language,location\npetr@example.org,Peter,en,Пермь\n")
    petr.refresh_from_db()
    assert (petr.display_name, petr.language) == ("Peter", "en")
