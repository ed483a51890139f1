"""seed_demo: synthetic supporters around real places, reproducible, bulk-loaded."""

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from geo import hexgrid
from supporters.models import ConsentRecord, Supporter

pytestmark = pytest.mark.django_db


def _snapshot():
    return list(
        Supporter.objects.order_by("email").values_list(
            "id", "email", "cell", "status", "city", "consent_public_map", "consent_introductions"
        )
    )


def test_the_same_seed_gives_the_same_supporters_and_another_seed_does_not():
    call_command("seed_demo", supporters=500, seed=3, stdout=None)
    first = _snapshot()
    call_command("seed_demo", supporters=500, seed=3)
    assert _snapshot() == first
    assert len(first) == 500
    call_command("seed_demo", supporters=500, seed=4)
    assert _snapshot() != first
    assert Supporter.objects.count() == 500  # demo rows are replaced, not added


def test_demo_supporters_sit_on_cell_centres_around_populous_places():
    call_command("seed_demo", supporters=3000, seed=1, country="RU")
    rows = list(Supporter.objects.values_list("cell", "location", "country_code", "region"))
    for cell, point, country, _region in rows[:200]:
        assert hexgrid.cell_centre(cell).equals_exact(point, tolerance=1e-9)
        assert country == "RU"
    regions = Counter(region for *_rest, region in rows)
    # Weighted by population: Moscow, the largest city, gets the most supporters.
    assert regions.most_common(1)[0][0] == "Moscow"


def test_demo_consents_and_records_agree_and_only_active_people_consent():
    call_command("seed_demo", supporters=2000, seed=2)
    statuses = Counter(Supporter.objects.values_list("status", flat=True))
    assert statuses["active"] > statuses["pending"] > 0 and statuses["unsubscribed"] > 0
    assert not Supporter.objects.exclude(status="active").filter(consent_public_map=True).exists()
    granted = Supporter.objects.filter(consent_introductions=True).count()
    assert 0 < granted == ConsentRecord.objects.filter(purpose="introductions").count()


def test_seed_demo_creates_the_demo_organizer_once_and_leaves_real_people_alone(make_supporter):
    real = make_supporter(email="real@example.org")
    call_command("seed_demo", supporters=10, seed=1)
    call_command("seed_demo", supporters=10, seed=1)
    assert Supporter.objects.filter(pk=real.pk).exists()
    organizer = get_user_model().objects.get(username="organizer")
    assert organizer.is_staff


def test_seeding_again_also_deletes_the_rows_that_hide_their_key_to_a_demo_supporter():
    from django.db import connection

    from supporters.nearby.models import SignInLink
    from supporters.organize.duplicates import possible_duplicates_search
    from supporters.organize.models import PossibleDuplicate

    call_command("seed_demo", supporters=300, seed=5)
    possible_duplicates_search()  # demo names repeat: pairs, with keys named "+"
    SignInLink.objects.create(supporter=Supporter.objects.first())
    assert PossibleDuplicate.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the keys now, not at commit
    call_command("seed_demo", supporters=300, seed=6)
    assert not PossibleDuplicate.objects.exists() and not SignInLink.objects.exists()


def test_if_empty_adds_nothing_when_there_are_supporters(make_supporter):
    make_supporter()
    call_command("seed_demo", supporters=50, seed=1, if_empty=True)
    assert Supporter.objects.count() == 1


def test_seed_demo_prints_the_login_without_a_code_and_leaves_a_printed_code_working():
    from io import StringIO

    from django_otp.plugins.otp_static.models import StaticToken

    from supporters.organize.demo import demo_organizer_ensure

    printed = demo_organizer_ensure().recovery_code  # as `demo_organizer` printed it
    out = StringIO()
    call_command("seed_demo", supporters=10, seed=1, stdout=out)
    assert "demo organizer: organizer / " in out.getvalue()
    # The only code in circulation is still the one printed before, and it still works.
    assert list(StaticToken.objects.values_list("token", flat=True)) == [printed]
    assert printed not in out.getvalue()


def _demo_groups():
    from supporters.groups.models import LocalGroup

    return {
        g.name: g
        for g in LocalGroup.objects.select_related("founder").prefetch_related("memberships")
    }


def test_seed_demo_makes_local_groups_once_with_members_sharing_and_not(run_worker):
    from procrastinate.contrib.django.models import ProcrastinateJob

    from supporters.groups.models import GroupInvitation, GroupMembership, LocalGroup

    call_command("seed_demo", supporters=2000, seed=7, no_organizer=True)
    groups = _demo_groups()
    assert len(groups) == 4
    approved = [g for g in groups.values() if g.status == LocalGroup.Status.APPROVED]
    (proposed,) = [g for g in groups.values() if g.status == LocalGroup.Status.PROPOSED]
    assert len(approved) == 3 and "Москв" in " ".join(g.name for g in approved)
    assert [m.role for m in proposed.memberships.all()] == ["leader"]
    for group in approved:
        members = [m for m in group.memberships.all() if m.role == "member"]
        assert group.founder.email.endswith("@demo.sosedi.invalid")
        assert {m.shares_contact for m in members} == {True, False}, group.name
        assert group.language == "ru" and group.area.intersects(group.founder.location)
    co_leaders = GroupMembership.objects.filter(role="co_leader")
    assert co_leaders.count() == 1 and co_leaders.get().shares_contact
    # Nobody was invited: the invitation jobs are gone, and the worker finds none to run.
    assert not ProcrastinateJob.objects.filter(task_name__endswith="group_invitations_send")
    run_worker(queues=["email"])
    assert not GroupInvitation.objects.exists()

    call_command("seed_demo", supporters=2000, seed=7, no_organizer=True)
    again = _demo_groups()
    assert sorted(again) == sorted(groups)  # replaced, not added, and none left founderless
    assert not set(g.pk for g in again.values()) & set(g.pk for g in groups.values())
    assert not LocalGroup.objects.filter(founder=None).exists()
    assert GroupMembership.objects.count() == sum(g.memberships.count() for g in again.values())


def test_seeding_again_keeps_real_peoples_groups_and_drops_demo_members_from_them(
    make_supporter,
):
    from supporters.groups import services
    from supporters.groups.models import LocalGroup
    from tests.supporters.groups.conftest import draft

    call_command("seed_demo", supporters=1000, seed=8, no_organizer=True)
    real = make_supporter(email="real@example.org", consents=["introductions"])
    group = services.group_propose(founder=real, draft=draft(name="Настоящая группа"))
    group = services.group_review(group=group, decision="approve", note="", reviewer=None)
    demo = Supporter.objects.filter(email__endswith="@demo.sosedi.invalid", status="active")
    services.group_join(group=group, supporter=demo.first(), shares_contact=False)

    call_command("seed_demo", supporters=1000, seed=8, no_organizer=True)
    group.refresh_from_db()
    assert group.founder == real and LocalGroup.objects.filter(pk=group.pk).exists()
    assert [m.supporter for m in group.memberships.all()] == [real]
