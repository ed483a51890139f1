"""The Possible duplicates page: pairs side by side with why, dismiss, merge after a page
that shows both records, the merges done; for coordinators, every look audited."""

import pytest
from django.db import connection
from django.urls import reverse

from supporters.models import ConsentRecord, MergedAddress, Purpose, Supporter
from supporters.organize.duplicates import possible_duplicates_search
from supporters.organize.models import AuditEntry, DuplicateDismissal, SupporterMerge

pytestmark = pytest.mark.django_db

LIST = reverse("organize:duplicates")
DISMISS = reverse("organize:duplicate_dismiss")
MERGE = reverse("organize:supporter_merge")
SEARCH = reverse("organize:duplicate_search")


@pytest.fixture
def pair(make_supporter):
    ann = make_supporter(email="ann@example.org", name="Анна Смирнова", phone="+7 916 123-45-67")
    anna = make_supporter(email="anna@example.org", name="Анна Смирнова", phone="89161234567")
    make_supporter(email="boris@example.org", name="Борис Петров")
    possible_duplicates_search()
    return ann, anna


def test_a_coordinator_sees_each_pair_side_by_side_with_why(as_role, pair):
    ann, anna = pair
    page = as_role("coordinator").get(LIST)

    assert page.status_code == 200
    html = page.content.decode()
    assert "same phone +7 916 123-45-67" in html and "names 1.00 alike, same hexagon" in html
    assert "ann@example.org" in html and "anna@example.org" in html
    assert "boris@example.org" not in html
    assert f"kept={ann.pk}&amp;merged={anna.pk}" in html  # keep either record
    assert f"kept={anna.pk}&amp;merged={ann.pk}" in html
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.filter, entry.row_count) == (
        "view_people",
        {"page": "duplicates", "number": 1},
        2,
    )


def test_the_page_is_in_the_workspace_menu_of_those_who_may_see_people(as_role, pair):
    assert LIST.encode() in as_role("coordinator").get(reverse("organize:dashboard")).content
    assert LIST.encode() not in as_role("organizer").get(reverse("organize:dashboard")).content


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", LIST), ("post", DISMISS), ("get", MERGE), ("post", MERGE), ("post", SEARCH)],
)
def test_an_organizer_without_the_role_is_refused_and_a_visitor_sent_to_log_in(
    as_role, client, pair, method, url
):
    ann, anna = pair
    data = {"first": ann.pk, "second": anna.pk, "kept": ann.pk, "merged": anna.pk}
    assert getattr(as_role("organizer"), method)(url, data).status_code == 403
    visitor = getattr(client, method)(url, data)
    assert visitor.status_code == 302 and visitor["Location"].startswith("/organize/login/")
    assert Supporter.objects.count() == 3 and not DuplicateDismissal.objects.exists()
    assert not AuditEntry.objects.exists()


def test_dismissing_a_pair_takes_it_off_the_page_for_good(as_role, make_staff, pair):
    ann, anna = pair
    coordinator = as_role("coordinator")

    response = coordinator.post(DISMISS, {"first": anna.pk, "second": ann.pk, "page": "1"})

    assert response.status_code == 302 and response["Location"] == f"{LIST}?page=1"
    assert DuplicateDismissal.objects.get().dismissed_by.username == "coordinator-user"
    possible_duplicates_search()
    assert "anna@example.org" not in coordinator.get(LIST).content.decode()


def test_a_merge_shows_both_records_first_then_merges_and_is_listed(as_role, pair):
    ann, anna = pair
    coordinator = as_role("coordinator")

    confirm = coordinator.get(MERGE, {"kept": ann.pk, "merged": anna.pk})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "ann@example.org" in html and "anna@example.org" in html
    assert "Merge anna@example.org into this record" in html
    assert Supporter.objects.filter(pk=anna.pk).exists()  # looking merges nothing
    assert AuditEntry.objects.get().filter == {"page": "merge"}

    done = coordinator.post(MERGE, {"kept": ann.pk, "merged": anna.pk})

    assert done.status_code == 302 and done["Location"] == LIST
    assert not Supporter.objects.filter(pk=anna.pk).exists()
    assert MergedAddress.objects.get().supporter == ann
    merge = SupporterMerge.objects.get()
    assert merge.merged_by.username == "coordinator-user"
    assert AuditEntry.objects.filter(action="merge", filter__merge=merge.pk).exists()
    listed = coordinator.get(LIST).content.decode()
    assert "Merged anna@example.org into ann@example.org" in listed
    merges = listed.split('id="merges"')[1]
    assert "anna@example.org" in merges and "emails: 2" in merges  # confirmation, welcome


def test_a_merge_of_a_record_gone_meanwhile_is_refused_with_a_reason(as_role, pair):
    ann, anna = pair
    coordinator = as_role("coordinator")
    coordinator.post(MERGE, {"kept": ann.pk, "merged": anna.pk})

    again = coordinator.post(MERGE, {"kept": ann.pk, "merged": anna.pk})
    assert again.status_code == 400 and b"no longer on the list" in again.content
    itself = coordinator.post(MERGE, {"kept": ann.pk, "merged": ann.pk})
    assert itself.status_code == 400 and b"cannot be merged" in itself.content
    assert coordinator.post(MERGE, {"kept": "nonsense"}).status_code == 400


def test_the_admin_page_of_the_kept_person_shows_the_merges(as_role, pair, make_staff):
    from tests.conftest import verified_client

    ann, anna = pair
    as_role("coordinator").post(MERGE, {"kept": ann.pk, "merged": anna.pk})
    admin, device = make_staff("admin", username="site-admin")
    admin.is_superuser = True
    admin.save()

    page = verified_client(admin, device).get(
        reverse("admin:supporters_supporter_change", args=[ann.pk])
    )
    assert page.status_code == 200 and page.content.decode().count("anna@example.org") >= 2


def test_the_kept_persons_workspace_page_shows_consents_and_merges_to_coordinators(as_role, pair):
    ann, anna = pair
    ConsentRecord.objects.create(
        supporter=anna, purpose="email_updates", granted=True, source="form", wording_version="1"
    )
    Supporter.objects.filter(pk=anna.pk).update(consent_email_updates=True)
    coordinator = as_role("coordinator")
    coordinator.post(MERGE, {"kept": ann.pk, "merged": anna.pk})
    page = reverse("organize:person", args=[ann.pk])
    assert page.encode() in coordinator.get(LIST).content  # linked from the merges

    html = coordinator.get(page).content.decode()

    merges = html.split("Records merged into this one")[1]
    assert "anna@example.org" in merges and "emails: 2" in merges and "coordinator-user" in merges
    consents = html.split("Consents")[1].split("Tags")[0]
    # The merged record's decision is the kept one's now, with when and how it was made.
    updates = consents.split("receive email updates")[1].split("</tr>")[0]
    assert "<td>yes</td>" in updates and "sign-up form" in updates
    # Every other purpose is still undecided.
    assert consents.count("<td>no</td>") == len(Purpose) - 1
    assert "boris@example.org" not in html
    entry = AuditEntry.objects.order_by("at", "pk").last()
    assert (entry.action, entry.filter, entry.detail) == (
        "view_people",
        {"page": "person"},
        str(ann.pk),
    )
    assert as_role("organizer").get(page).status_code == 403
    assert coordinator.get(reverse("organize:person", args=[anna.pk])).status_code == 404


def _searches_waiting() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE %s AND status = 'todo'",
            ["%duplicates_search"],
        )
        return cursor.fetchone()[0]


def test_looking_again_asks_the_worker_once(as_role):
    coordinator = as_role("coordinator")
    waiting = _searches_waiting()
    assert coordinator.post(SEARCH).status_code == 302
    assert _searches_waiting() == waiting + 1
    again = coordinator.post(SEARCH, follow=True)
    assert b"already waiting" in again.content
    assert _searches_waiting() == waiting + 1
