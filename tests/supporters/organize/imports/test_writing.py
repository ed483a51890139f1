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


@pytest.mark.django_db
def test_an_address_merged_into_someone_updates_them_instead_of_making_a_new_record(
    make_supporter,
):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    kept = make_supporter(email="anna@example.org", name="Анна")
    merged = make_supporter(email="anna.old@example.org", name="Анна К.")
    supporter_merge(kept=kept, merged=merged, actor=Actor(user=None))

    outcome = import_text("email,location,tags\nANNA.OLD@example.org,Казань,volunteer\n")
    assert (outcome.created, outcome.updated, outcome.errors) == (0, 1, [])
    person = Supporter.objects.get()
    assert person.pk == kept.pk and person.email == "anna@example.org"
    assert person.city == "Kazan"
    assert list(Tagging.objects.values_list("supporter_id", "name")) == [(kept.pk, "volunteer")]
    assert (
        import_text("email,location\nanna.old@example.org,Казань\n", dry_run=True).updated == 1
    )  # the dry run finds the person the same way


@pytest.mark.django_db
def test_a_person_given_by_both_their_address_and_a_merged_one_is_written_once(make_supporter):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    kept = make_supporter(email="anna@example.org", name="Анна")
    merged = make_supporter(email="anna.old@example.org", name="Анна К.")
    supporter_merge(kept=kept, merged=merged, actor=Actor(user=None))

    outcome = import_text(
        "email,name,location\nanna@example.org,Anna,Казань\nanna.old@example.org,Old,Пермь\n"
    )
    assert (outcome.created, outcome.updated) == (0, 1)
    [error] = outcome.errors
    assert (error.row, error.field) == (3, "email")
    assert error.reason.startswith("the same person as row 2")
    kept.refresh_from_db()
    assert (kept.display_name, kept.city) == ("Anna", "Kazan")
