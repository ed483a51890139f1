"""A local group of 5,000: its leaders' page, and a leader's mail to every member, against
the page with a query per member and the mail saved a message and a job at a time."""

import time

from bench.ops.common import Ctx, row
from bench.ops.invitations import MOSCOW, bench_host, jobs_delete_after, jobs_mark

MEMBERS = 5_000
SAMPLE = 500
PAGE_TARGET_S = 0.5
MAIL_TARGET_S = 5.0


def _members_add(group, *, count: int) -> int:
    """`count` active supporters of central Moscow join, every one sharing their contact
    (the leaders' page lists them all: its largest case)."""
    from django.db.models.functions import Now

    from supporters.groups.models import GroupMembership
    from supporters.models import Supporter

    people = (
        Supporter.objects.filter(status=Supporter.Status.ACTIVE, city__in=["Москва", "Moscow"])
        .exclude(pk=group.founder_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    GroupMembership.objects.bulk_create(
        GroupMembership(group=group, supporter_id=pk, shares_contact=True, joined_at=Now())
        for pk in people
    )
    return GroupMembership.objects.filter(group=group).count() - 1


def _roster_one_query_each(*, group, page=None):
    """The roster as a page without select_related builds it: each member's name and
    address read with a query of their own when the row is printed."""
    from supporters.groups.models import GroupMembership
    from supporters.groups.selectors import Roster

    memberships = GroupMembership.objects.filter(group=group)
    sharing = list(memberships.filter(shares_contact=True).order_by("role", "joined_at", "pk"))
    return Roster(sharing=sharing, others=memberships.filter(shares_contact=False).count())


def run(ctx: Ctx) -> list[dict]:
    from django.contrib.gis.geos import Point
    from django.test import Client
    from django.urls import reverse

    from bench.measure import Timing, repeat
    from geo import areas
    from supporters.groups import selectors, services
    from supporters.groups.models import GroupMail, GroupMembership, LocalGroup
    from supporters.models import OutboxMessage, RateLimitEvent
    from supporters.nearby.views import SESSION_KEY
    from supporters.sms.models import TextMessage
    from supporters.tasks import deliver_message

    centre = Point(*MOSCOW, srid=4326)
    leader = bench_host(email="leader@groups.bench.invalid", location=centre)
    group = LocalGroup.objects.create(
        name="Соседи Москвы",
        description="Местная группа сторонников.",
        language="ru",
        area_kind=LocalGroup.AreaKind.CIRCLE,
        area_name="Москва",
        area=areas.circle(centre, 25),
        centre=centre,
        radius_km=25,
        founder=leader,
        status=LocalGroup.Status.APPROVED,
    )
    GroupMembership.objects.create(
        group=group, supporter=leader, role=GroupMembership.Role.LEADER, shares_contact=True
    )
    mark = jobs_mark()
    found = {}

    def mail_cleanup():
        kinds = [f"group_mail:{pk}" for pk in GroupMail.objects.filter(group=group).values("pk")]
        OutboxMessage.objects.filter(kind__startswith="group_mail:").delete()
        TextMessage.objects.filter(kind__startswith="group_mail:").delete()
        GroupMail.objects.filter(group=group).delete()
        RateLimitEvent.objects.filter(scope="group_mail", key=str(group.pk)).delete()
        jobs_delete_after(mark)
        return kinds

    try:
        found["members"] = _members_add(group, count=MEMBERS)
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(leader.pk)
        session.save()
        path = reverse("groups:lead", args=[group.pk])

        def page():
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            found["bytes"] = len(response.content)
            found["rows"] = response.content.count(b"<tr>") - 1

        page_t = repeat(page, repeats=ctx.scaled(5, 15), warmup=1)
        shown = found["rows"]
        # Baselines: every member on one page with one query each, and every member on
        # one page as the roster was read before it had pages.
        ours_roster, per_page = selectors.group_roster, selectors.ROSTER_PER_PAGE
        selectors.group_roster = _roster_one_query_each
        try:
            naive_page = repeat(page, repeats=ctx.scaled(2, 3), warmup=0, budget_s=60)
            selectors.group_roster = ours_roster
            selectors.ROSTER_PER_PAGE = 10**6
            one_page = repeat(page, repeats=ctx.scaled(3, 5), warmup=1, budget_s=30)
            found["one_page_kib"] = found["bytes"] / 1024
        finally:
            selectors.group_roster, selectors.ROSTER_PER_PAGE = ours_roster, per_page

        cleanups: list[float] = []

        def mail():
            started = time.perf_counter()
            mail_cleanup()
            cleanups.append(time.perf_counter() - started)
            sent = services.group_mail_send(
                group=group,
                sender=leader,
                subject="Субботник в эту субботу",
                body="Друзья, встречаемся в 11:00 у входа в парк. Возьмите перчатки.\n" * 5,
            )
            found["mailed"] = sent.recipients

        mail_t = repeat(mail, repeats=ctx.scaled(1, 3), warmup=0)
        mail_t = Timing([s - c for s, c in zip(mail_t.samples, cleanups, strict=True)])
        mail_cleanup()

        # Baseline: one message composed, saved and given its job at a time.
        from supporters.groups.services import _group_message

        sent = GroupMail.objects.create(
            group=group, sender=leader, subject="Субботник", body="Встречаемся в 11:00."
        )
        members = list(
            GroupMembership.objects.filter(group=group)
            .exclude(supporter=leader)
            .select_related("supporter")[:SAMPLE]
        )
        started = time.perf_counter()
        for membership in members:
            message = _group_message(sent, membership)
            message.save()
            deliver_message.defer(message_id=message.pk)
        per_member = (time.perf_counter() - started) / len(members)
        mail_cleanup()
    finally:
        mail_cleanup()
        group.delete()
        leader.delete()
    naive_mail = Timing([per_member * found["members"]], extrapolated=True)
    return [
        row(
            "groups_lead_page",
            f"group leaders' page with {found['members']:,} members",
            ours=page_t,
            baselines=[
                ("every member on one page, one query per member", naive_page),
                ("every member on one page, one query for all", one_page),
            ],
            target=f"p95 ≤ {PAGE_TARGET_S * 1000:.0f} ms",
            met=page_t.p95 <= PAGE_TARGET_S,
            notes=[
                f"GET of the leaders' page signed in as the leader: its first page of "
                f"{shown:,} members (selectors.ROSTER_PER_PAGE), every member sharing their "
                "contact (the page's largest case)",
                f"all {found['members']:,} on one page made {found['one_page_kib']:,.0f} KiB "
                "of HTML, a form for each row: too long to use, so the roster has pages",
            ],
        ),
        row(
            "groups_mail",
            f"group mail to {found['mailed']:,} members prepared",
            ours=mail_t,
            baselines=[("one message + one job saved at a time, extrapolated", naive_mail)],
            target=f"≤ {MAIL_TARGET_S:.0f} s",
            met=mail_t.median <= MAIL_TARGET_S,
            notes=[
                "services.group_mail_send as the leaders' page calls it: one outbox message "
                "each with the member's leave link, and its delivery job, in one transaction",
                f"baseline: {len(members)} members one at a time, each in its own "
                f"transaction, extrapolated to {found['members']:,}",
            ],
        ),
    ]
