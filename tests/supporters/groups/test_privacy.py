"""A crawl of every group page as each role, failing on any name, email or hexagon that
role must not see (PRODUCT.md, privacy model 3 and 9): a sharing member is known to the
group's leaders only, a member who does not share to nobody, a member's cell to nobody;
public member counts are k-anonymous; a proposal is seen by its leader alone; the
organizers' page of groups names founders to coordinators and admins, and is audited."""

import html
import json
import re

import h3
import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.urls import reverse

from supporters import links
from supporters.groups import services
from supporters.groups.models import GroupInvitation, GroupMembership
from supporters.organize.models import AuditEntry

from .conftest import draft

pytestmark = pytest.mark.django_db(transaction=True)

PRESNYA = Point(37.58, 55.76, srid=4326)
NUMBER = re.compile(r"-?\d{1,3}\.\d+")


def _spellings(text: str) -> set[str]:
    """How `text` can appear in a page: as is, HTML-escaped, inside escaped JSON."""
    in_json = json.dumps(text)[1:-1]
    return {text, html.escape(text), in_json, html.escape(in_json)}


def identity(person) -> set[str]:
    """What names a person: the full name, the first name, the email."""
    parts = {person.display_name, person.first_name, person.email}
    return {s for part in parts for s in _spellings(part)}


def cell_shown(page: str, person) -> str | None:
    """The form in which `page` shows the person's H3 cell, if it does: its integer, its
    hex string, or its centre as two neighbouring numbers equal to 4 decimals."""
    cell = person.cell
    for form in (str(cell), h3.int_to_str(cell)):
        if form in page:
            return form
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    numbers = [float(n) for n in NUMBER.findall(page)]
    for a, b in zip(numbers, numbers[1:], strict=False):
        pair = (round(a, 4), round(b, 4))
        if pair in {(round(lat, 4), round(lon, 4)), (round(lon, 4), round(lat, 4))}:
            return f"{a}, {b}"
    return None


def areas_on(page: str) -> list[dict]:
    """The properties of the group areas on a page's map (the data-areas attribute)."""
    found = re.search(r'data-areas="([^"]*)"', page)
    return [f["properties"] for f in json.loads(html.unescape(found.group(1)))["features"]]


@pytest.fixture
def world(activist, make_supporter, run_worker):
    """Two approved groups and a proposal, all in Moscow, and an invitation from the worker.

    Group `hamovniki`: a leader, a co-leader, a member who shares, one who does not (4 in
    all). Group `presnya`: a leader and 11 members, 5 of them sharing (12 in all). The
    proposal `arbat` waits for the organizers."""
    leader = activist(name="Аглая Ведущая", email="aglaya@example.org", lon=37.615, lat=55.748)
    co_leader = activist(name="Бронислав Помощник", email="bronislav@example.org", lon=37.60)
    sharer = activist(name="Ветрана Открытая", email="vetrana@example.org", lon=37.64)
    quiet = activist(name="Гордей Скрытный", email="gordey@example.org", lon=37.63, lat=55.77)
    invitee = make_supporter(
        name="Дарина Приглашённая", email="darina@example.org", lon=37.61, lat=55.73,
        consents=["event_invitations"],
    )  # fmt: skip
    hamovniki = services.group_propose(founder=leader, draft=draft())
    services.group_review(group=hamovniki, decision="approve", note="", reviewer=None)
    hamovniki.refresh_from_db()
    co = services.group_join(group=hamovniki, supporter=co_leader, shares_contact=True)
    services.group_co_leader_set(group=hamovniki, leader=leader, membership=co, co_leader=True)
    sharing = services.group_join(group=hamovniki, supporter=sharer, shares_contact=True)
    hidden = services.group_join(group=hamovniki, supporter=quiet, shares_contact=False)

    second_leader = activist(name="Евстафий Второй", email="evstafiy@example.org", lon=37.57)
    presnya = services.group_propose(
        founder=second_leader, draft=draft(name="Соседи Пресни", centre=PRESNYA, radius_km=10)
    )
    services.group_review(group=presnya, decision="approve", note="", reviewer=None)
    presnya.refresh_from_db()
    second_members = [
        make_supporter(name=f"Жозефина{i} Участница", email=f"josephine{i}@example.org",
                       lon=37.55 + i * 0.007, lat=55.76 + (i % 3) * 0.006)
        for i in range(11)
    ]  # fmt: skip
    for i, person in enumerate(second_members):
        services.group_join(group=presnya, supporter=person, shares_contact=i % 2 == 0)

    proposer = activist(name="Зиновия Предлагает", email="zinoviya@example.org", lon=37.59)
    arbat = services.group_propose(founder=proposer, draft=draft(name="Соседи Арбата"))

    run_worker(queues=["email"])  # the approved groups invite their neighbours
    invitation = GroupInvitation.objects.get(group=hamovniki, supporter=invitee)
    return {
        "groups": (hamovniki, presnya, arbat),
        "people": {
            "leader": leader,
            "co_leader": co_leader,
            "sharer": sharer,
            "quiet": quiet,
            "invitee": invitee,
            "second_leader": second_leader,
            "proposer": proposer,
            **{f"second_member{i}": p for i, p in enumerate(second_members)},
        },
        "invitation": invitation,
        "leave": (sharing, hidden),
    }


def _may_see(role: str, path: str, organize: str) -> set[str]:
    """Whose name and email `role` may see on `path`: a group's leaders see its leaders and
    sharing members, coordinators and admins the founders on the organizers' page."""
    allowed: set[str] = set()
    if role in ("leader", "co_leader"):
        allowed |= {"leader", "co_leader", "sharer"}
    if role in ("coordinator", "admin") and path == organize:
        allowed |= {"leader", "second_leader", "proposer"}
    return allowed


def test_every_group_page_as_every_role_shows_only_what_the_role_may_see(world, signed_in, as_role):
    hamovniki, presnya, arbat = world["groups"]
    people = world["people"]
    sharing, hidden = world["leave"]
    clients = {
        "visitor": Client(),
        "quiet": signed_in(people["quiet"]),
        "sharer": signed_in(people["sharer"]),
        "leader": signed_in(people["leader"]),
        "co_leader": signed_in(people["co_leader"]),
        "organizer": as_role("organizer"),
        "coordinator": as_role("coordinator"),
        "admin": as_role("admin"),
    }
    organize = reverse("organize_groups:queue")
    invitation = reverse(
        "groups:invitation", args=[links.GROUP_INVITATION.make(world["invitation"].pk)]
    )
    paths = [
        reverse("groups:list"),
        reverse("groups:list") + "?q=Москва",
        *(reverse("groups:detail", args=[g.pk]) for g in (hamovniki, presnya, arbat)),
        *(reverse("groups:lead", args=[g.pk]) for g in (hamovniki, presnya, arbat)),
        organize,
        invitation,
        *(reverse("groups:leave", args=[links.GROUP_LEAVE.make(m.pk)]) for m in world["leave"]),
    ]
    lead_hamovniki = reverse("groups:lead", args=[hamovniki.pk])
    public = paths[:4]
    problems, statuses = [], {}
    for role, client in clients.items():
        audits_before = AuditEntry.objects.count()
        for path in paths:
            response = client.get(path)
            statuses[role, path] = response.status_code
            page = response.content.decode()
            allowed = _may_see(role, path, organize)
            for key, person in people.items():
                if key in allowed:
                    continue
                shown = sorted(s for s in identity(person) if s in page)
                if shown:
                    problems.append(f"{role} {path}: {key} as {shown}")
                if cell := cell_shown(page, person):
                    problems.append(f"{role} {path}: {key}'s cell as {cell}")
            if path in public:
                problems += [f"{role} {path}: {p}" for p in _counts_problems(page, world)]
        audits = AuditEntry.objects.count() - audits_before
        assert audits == (1 if role in ("coordinator", "admin") else 0), role
    assert not problems, "\n".join(problems)

    for role in clients:
        for group in (hamovniki, presnya):
            assert statuses[role, reverse("groups:detail", args=[group.pk])] == 200, role
        assert statuses[role, reverse("groups:detail", args=[arbat.pk])] == 404, role
        assert statuses[role, invitation] == 200, role
        assert statuses[role, public[1]] == 200, role
    for role in ("leader", "co_leader"):
        assert statuses[role, lead_hamovniki] == 200
    for role in ("quiet", "sharer"):
        assert statuses[role, lead_hamovniki] == 404
    assert statuses["coordinator", organize] == statuses["admin", organize] == 200
    assert statuses["organizer", organize] == 403
    for role in ("visitor", "quiet", "sharer", "leader", "co_leader"):
        assert statuses[role, organize] in (302, 403), role

    # What the leaders' page does show them, and the organizers' page the coordinators.
    lead = clients["leader"].get(lead_hamovniki).content.decode()
    assert people["sharer"].email in lead and people["co_leader"].email in lead
    assert "1 member does not share" in lead
    queue = clients["coordinator"].get(organize).content.decode()
    proposer = people["proposer"]  # the founder of the group waiting for approval
    assert proposer.email in queue and proposer.display_name in queue
    entry = AuditEntry.objects.first()
    assert (entry.actor, entry.filter, entry.row_count) == (
        "coordinator-user",
        {"page": "groups"},
        3,
    )


def _counts_problems(page: str, world) -> list[str]:
    """Public counts: below k 'fewer than 10', from k on a multiple of 5 ('10+' for 12)."""
    hamovniki, presnya, _ = world["groups"]
    problems = []
    areas = {a["name"]: a["members"] for a in areas_on(page)}
    for name, members in areas.items():
        expected = {hamovniki.name: None, presnya.name: 10}.get(name, "a proposal")
        if members != expected:
            problems.append(f"{name} counted {members} on the map, not {expected}")
    if hamovniki.name in areas and "fewer than 10 members" not in page:
        problems.append("the small group's count is not 'fewer than 10'")
    if presnya.name in areas and "10+ members" not in page:
        problems.append("the large group's count is not '10+'")
    for exact in ("4 member", "4+ member", "12 member", "12+ member", "11+ member"):
        if exact in page:
            problems.append(f"an exact count: {exact!r}")
    if world["groups"][2].name in page:
        problems.append("the proposal is listed")
    return problems


def test_a_proposal_is_seen_by_its_leader_only_and_the_search_finds_moscow_s_groups(
    world, signed_in
):
    hamovniki, presnya, arbat = world["groups"]
    proposer = signed_in(world["people"]["proposer"])
    page = proposer.get(reverse("groups:detail", args=[arbat.pk]))
    assert page.status_code == 200 and arbat.name in page.content.decode()
    # Another group's leader does not see it: only its own leader does.
    assert signed_in(world["people"]["leader"]).get(f"/groups/{arbat.pk}/").status_code == 404
    found = Client().get(reverse("groups:list") + "?q=Москва").content.decode()
    assert hamovniki.name in found and presnya.name in found and arbat.name not in found
    assert GroupMembership.objects.filter(group=arbat).count() == 1


@pytest.mark.django_db(transaction=False)
def test_the_crawl_s_checks_find_a_name_or_a_cell_in_every_form_they_take(make_supporter):
    person = make_supporter(name="Ия Проверка", email="iya@example.org", lon=37.6, lat=55.7)
    lat, lon = h3.cell_to_latlng(h3.int_to_str(person.cell))
    for page in (
        f"<td>{person.display_name}</td>",
        f'data-areas="{html.escape(json.dumps({"n": person.first_name}))}"',
        f"mailto:{person.email}",
    ):
        assert any(s in page for s in identity(person)), page
    for page in (
        f"cell {person.cell}",
        f"h3 {h3.int_to_str(person.cell)}",
        f'"coordinates": [{lon:.6f}, {lat:.6f}]',
        f"POINT ({lon:.4f} {lat:.4f})",
        f'lat="{lat:.4f}" lon="{lon:.4f}"',
    ):
        assert cell_shown(page, person), page
    assert cell_shown(f"{lat:.4f} and elsewhere 1.5 and {lon:.4f}", person) is None
