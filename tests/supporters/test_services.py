"""supporters/services.py, called directly: sign-up, consents, profile, home moves, leaving,
erasure and the outbox."""

import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from supporters import links, outbox, services
from supporters.consent import WORDING_VERSION
from supporters.models import ConsentRecord, OutboxMessage, RateLimitEvent, Supporter
from supporters.ratelimit import RateLimited
from tests.conftest import location_at

from .test_ratelimit import backdate

pytestmark = pytest.mark.django_db

PREFERENCES = services.Preferences(channel="email", frequency="weekly", topics=["events"])


@pytest.fixture
def delivery_jobs(db):
    """The message ids of the delivery jobs deferred since the test began, in order."""

    def sql(query: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()

    ((start,),) = sql("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")

    def jobs() -> list[int]:
        rows = sql(
            "SELECT queue_name, (args->>'message_id')::int FROM procrastinate_jobs"
            f" WHERE id > {start} AND task_name LIKE '%%deliver_message' ORDER BY id"
        )
        assert {queue for queue, _ in rows} <= {"email"}
        return [message_id for _, message_id in rows]

    return jobs


def sign_up(email="anna@example.org", **fields) -> Supporter:
    arguments = {
        "display_name": "Анна",
        "location": location_at(lon=82.92, lat=55.03, city="Novosibirsk"),
        "consents": [],
        "preferences": PREFERENCES,
        "language": "ru",
        **fields,
    }
    return services.supporter_sign_up(email=email, **arguments)


def row(supporter: Supporter) -> dict:
    return Supporter.objects.filter(pk=supporter.pk).values().get()


def token_in(body: str, path: str) -> str:
    """The token of the link to /<path>/<token>/ in a mail body."""
    return re.search(rf"/{path}/([^/\s]+)/", body).group(1)


def manage_mail(supporter: Supporter, **fields) -> dict:
    """message_compose's arguments for a manage-link mail to `supporter`."""
    return {
        "supporter": supporter,
        "kind": "manage_link",
        "template": "supporters/manage_link",
        "context": {"supporter": supporter, "manage_url": "http://testserver/manage/x/"},
        **fields,
    }


# --- sign-up and confirmation ----------------------------------------------------------


def test_sign_up_stores_a_pending_supporter_at_its_cell_with_its_consents(delivery_jobs):
    location = location_at(lon=82.92, lat=55.03, city="Novosibirsk", region="Novosibirsk Oblast")
    supporter = sign_up(
        email="  anna@example.org ",
        display_name="  Анна  ",
        location=location,
        consents=["public_map", "email_updates"],
    )

    supporter.refresh_from_db()
    assert (supporter.email, supporter.display_name) == ("anna@example.org", "Анна")
    assert supporter.status == Supporter.Status.PENDING and supporter.confirmed_at is None
    assert (supporter.cell, supporter.city, supporter.region) == (
        location.cell,
        "Novosibirsk",
        "Novosibirsk Oblast",
    )
    assert supporter.location.equals_exact(location.centre, tolerance=1e-9)
    assert supporter.consents() == {
        "public_map": True,
        "introductions": False,
        "event_invitations": False,
        "email_updates": True,
        "text_messages": False,
    }
    records = ConsentRecord.objects.filter(supporter=supporter)
    assert sorted(r.purpose for r in records) == ["email_updates", "public_map"]
    assert {(r.granted, r.source, r.wording_version) for r in records} == {
        (True, ConsentRecord.Source.FORM, WORDING_VERSION)
    }
    (mail,) = OutboxMessage.objects.filter(supporter=supporter)
    assert (mail.kind, mail.to_email, mail.status) == ("confirm", "anna@example.org", "queued")
    assert links.CONFIRM.read(token_in(mail.body_text, "confirm")) == supporter.pk
    assert delivery_jobs() == [mail.pk]


def test_a_sign_up_rolled_back_leaves_no_supporter_no_mail_and_no_job(delivery_jobs):
    with pytest.raises(RuntimeError), transaction.atomic():
        sign_up(consents=["public_map"])
        raise RuntimeError("what came after it failed")

    assert not Supporter.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert delivery_jobs() == []


def test_signing_up_again_changes_nothing_and_mails_the_owner_a_manage_link(
    make_supporter, delivery_jobs
):
    owner = make_supporter(email="anna@example.org", name="Анна", consents=["public_map"])
    before, consents_before = row(owner), ConsentRecord.objects.count()
    mail_before = set(OutboxMessage.objects.values_list("pk", flat=True))

    again = sign_up(
        email=" ANNA@Example.org",
        display_name="Someone else",
        location=location_at(lon=30.3, lat=59.9, city="Elsewhere"),
        consents=["introductions", "event_invitations"],
    )

    assert again.pk == owner.pk
    assert row(owner) == before
    assert Supporter.objects.count() == 1
    assert ConsentRecord.objects.count() == consents_before
    (mail,) = OutboxMessage.objects.exclude(pk__in=mail_before)
    assert (mail.kind, mail.to_email) == ("already_registered", "anna@example.org")
    assert links.MANAGE.read(token_in(mail.body_text, "manage")) == owner.pk
    assert delivery_jobs()[-1] == mail.pk


def test_signing_up_again_before_confirming_mails_a_fresh_confirmation_link(delivery_jobs):
    first = sign_up()
    second = sign_up(email="Anna@example.org", display_name="Другая")

    assert second.pk == first.pk and row(first)["display_name"] == "Анна"
    mails = list(OutboxMessage.objects.order_by("created_at"))
    assert [m.kind for m in mails] == ["confirm", "confirm"]
    assert links.CONFIRM.read(token_in(mails[1].body_text, "confirm")) == first.pk
    assert delivery_jobs() == [m.pk for m in mails]


def test_confirming_activates_once_and_mails_one_welcome_with_the_manage_link(
    make_supporter, delivery_jobs
):
    pending = make_supporter(status=Supporter.Status.PENDING)

    active = services.supporter_confirm(supporter=pending)
    confirmed_at = row(pending)["confirmed_at"]
    again = services.supporter_confirm(supporter=pending)  # the same, now stale, copy

    assert active.status == again.status == Supporter.Status.ACTIVE
    assert confirmed_at is not None and row(pending)["confirmed_at"] == confirmed_at
    (welcome,) = OutboxMessage.objects.filter(supporter=pending, kind="welcome")
    assert links.MANAGE.read(token_in(welcome.body_text, "manage")) == pending.pk
    assert delivery_jobs()[-1] == welcome.pk


def test_an_old_confirm_link_does_not_bring_back_someone_who_left(make_supporter):
    gone = make_supporter(status=Supporter.Status.UNSUBSCRIBED)
    assert services.supporter_confirm(supporter=gone).status == Supporter.Status.UNSUBSCRIBED
    assert row(gone)["status"] == Supporter.Status.UNSUBSCRIBED
    assert not OutboxMessage.objects.filter(supporter=gone, kind="welcome").exists()


# --- consents --------------------------------------------------------------------------


def test_consent_set_records_a_change_and_only_a_change(make_supporter):
    supporter = make_supporter()
    set_map = lambda granted: services.consent_set(  # noqa: E731
        supporter=supporter, purpose="public_map", granted=granted, source="email_link"
    )

    assert set_map(True) is True
    assert set_map(True) is False
    assert set_map(False) is True

    assert row(supporter)["consent_public_map"] is False
    history = ConsentRecord.objects.filter(supporter=supporter).order_by("created_at", "id")
    assert [(r.purpose, r.granted, r.source, r.wording_version) for r in history] == [
        ("public_map", True, "email_link", WORDING_VERSION),
        ("public_map", False, "email_link", WORDING_VERSION),
    ]


def test_consent_set_goes_by_the_stored_consent_not_the_callers_copy(make_supporter):
    supporter = make_supporter(consents=["introductions"])
    stale = Supporter.objects.get(pk=supporter.pk)
    services.consent_set(
        supporter=supporter, purpose="introductions", granted=False, source="manage_page"
    )

    assert services.consent_set(
        supporter=stale, purpose="introductions", granted=True, source="manage_page"
    )
    assert row(supporter)["consent_introductions"] is True
    assert ConsentRecord.objects.filter(supporter=supporter, source="manage_page").count() == 2


def test_an_unknown_purpose_is_refused_and_records_nothing(make_supporter):
    supporter = make_supporter()
    with pytest.raises(ValueError):
        services.consent_set(supporter=supporter, purpose="telepathy", granted=True, source="admin")
    assert not ConsentRecord.objects.filter(supporter=supporter).exists()


def test_consents_update_makes_consents_exactly_those_granted_recording_the_changes(
    make_supporter,
):
    supporter = make_supporter(consents=["public_map", "email_updates"])

    changed = services.consents_update(
        supporter=supporter, granted=["public_map", "introductions"], source="manage_page"
    )

    assert sorted(changed) == ["email_updates", "introductions"]
    supporter.refresh_from_db()
    assert [p for p, on in supporter.consents().items() if on] == ["public_map", "introductions"]
    changes = ConsentRecord.objects.filter(supporter=supporter, source="manage_page")
    assert sorted((r.purpose, r.granted) for r in changes) == [
        ("email_updates", False),
        ("introductions", True),
    ]
    assert (
        services.consents_update(
            supporter=supporter, granted=["introductions", "public_map"], source="manage_page"
        )
        == []
    )


# --- profile, home, leaving ------------------------------------------------------------


def test_a_profile_update_is_trimmed_and_saved(make_supporter):
    supporter = make_supporter(language="en")
    services.supporter_update_profile(
        supporter=supporter,
        display_name="  Вера Иванова ",
        phone=" +7 999 000-00-00 ",
        language="ru",
        preferences=services.Preferences(
            channel="phone", frequency="calls_to_action", topics=["city", "environment"]
        ),
    )
    saved = row(supporter)
    assert (saved["display_name"], saved["phone"], saved["language"]) == (
        "Вера Иванова",
        "+7 999 000-00-00",
        "ru",
    )
    assert (saved["channel"], saved["frequency"], sorted(saved["topics"])) == (
        "phone",
        "calls_to_action",
        ["city", "environment"],
    )


@pytest.mark.parametrize(
    "change",
    [
        {"language": "xx"},
        {"display_name": "   "},
        {"preferences": services.Preferences(channel="phone", frequency="weekly", topics=[])},
        {"preferences": services.Preferences(channel="email", frequency="hourly", topics=[])},
    ],
    ids=["unknown language", "blank name", "phone channel without a phone", "bad frequency"],
)
def test_an_invalid_profile_is_refused_and_nothing_is_saved(make_supporter, change):
    supporter = make_supporter()
    before = row(supporter)
    arguments = {"display_name": "New", "phone": "", "language": "ru", "preferences": PREFERENCES}
    with pytest.raises(ValidationError):
        services.supporter_update_profile(supporter=supporter, **{**arguments, **change})
    assert row(supporter) == before


def test_relocating_moves_the_cell_and_locality_and_counts_the_move(make_supporter):
    supporter = make_supporter(lon=37.62, lat=55.75)
    kazan = location_at(lon=49.12, lat=55.79, city="Kazan", region="Tatarstan")

    services.supporter_relocate(supporter=supporter, location=kazan)

    saved = row(supporter)
    assert (saved["cell"], saved["city"], saved["region"]) == (kazan.cell, "Kazan", "Tatarstan")
    assert saved["location_changed_at"] is not None
    assert RateLimitEvent.objects.filter(scope="relocate", key=str(supporter.pk)).count() == 1


def test_a_move_beyond_the_monthly_limit_is_refused_and_changes_nothing(make_supporter, settings):
    settings.SOSEDI_LOCATION_CHANGES_PER_MONTH = 2
    supporter = make_supporter()
    other = make_supporter()
    services.supporter_relocate(supporter=other, location=location_at(lon=30.3, lat=59.9))
    for lon in (39.7, 40.4):
        services.supporter_relocate(supporter=supporter, location=location_at(lon=lon, lat=47.2))
    before = row(supporter)

    with pytest.raises(RateLimited) as refused:
        services.supporter_relocate(supporter=supporter, location=location_at(lon=49.1, lat=55.8))

    assert refused.value.message != _("Too many attempts. Please try again later.")
    assert "this month" in refused.value.message
    assert row(supporter) == before
    assert RateLimitEvent.objects.filter(key=str(supporter.pk)).count() == 2
    # A month later the old moves no longer count.
    backdate(timedelta(days=31), key=str(supporter.pk))
    services.supporter_relocate(supporter=supporter, location=location_at(lon=49.1, lat=55.8))
    assert row(supporter)["cell"] == location_at(lon=49.1, lat=55.8).cell


def test_unsubscribing_withdraws_every_consent_and_keeps_the_data(make_supporter):
    supporter = make_supporter(consents=["public_map", "email_updates"])
    mail_before = OutboxMessage.objects.count()

    left = services.supporter_unsubscribe(supporter=supporter, source="email_link")

    assert left.status == row(supporter)["status"] == Supporter.Status.UNSUBSCRIBED
    assert not any(left.consents().values())
    withdrawn = ConsentRecord.objects.filter(supporter=supporter, granted=False)
    assert sorted((r.purpose, r.source) for r in withdrawn) == [
        ("email_updates", "email_link"),
        ("public_map", "email_link"),
    ]
    assert row(supporter)["email"] == supporter.email  # kept until erased
    assert OutboxMessage.objects.count() == mail_before


# --- the outbox ------------------------------------------------------------------------


def test_a_message_is_rendered_in_the_recipient_language_to_their_address(make_supporter):
    vera = make_supporter(email="vera@example.org", name="Вера Иванова", language="ru")
    with translation.override("ru"):
        russian = _("Your link to manage your Sosedi data")
    assert russian != "Your link to manage your Sosedi data", "no Russian catalog"

    with translation.override("en"):
        message = outbox.message_compose(**manage_mail(vera))
        assert translation.get_language() == "en"  # the page's language is left alone

    assert message.pk is None  # composed, not stored
    assert (message.subject, message.to_email, message.supporter) == (russian, vera.email, vera)
    assert "http://testserver/manage/x/" in message.body_text
    assert message.body_text.endswith("\n") and russian not in message.body_text


def test_a_message_can_go_in_another_language_to_another_address(make_supporter):
    vera = make_supporter(name="Вера Иванова", language="ru")
    message = outbox.message_compose(
        **manage_mail(vera, to_email="old@example.org", language="en", headers={"X-A": "1"})
    )
    assert message.subject == "Your link to manage your Sosedi data"
    assert (message.to_email, message.headers) == ("old@example.org", {"X-A": "1"})


def test_a_template_greets_the_recipient_it_is_composed_for(make_supporter):
    vera = make_supporter(name="Вера Иванова", language="ru")
    message = outbox.message_compose(
        supporter=vera,
        kind="nearby_sign_in",
        template="nearby/sign_in",
        context={"url": "http://testserver/nearby/x/", "minutes": 20},
    )
    with translation.override("ru"):
        greeting = _("Hello %(name)s,") % {"name": "Вера"}
    assert message.body_text.startswith(greeting)


def test_queued_messages_are_stored_with_one_delivery_job_each(make_supporter, delivery_jobs):
    ann, boris = make_supporter(), make_supporter()
    already = delivery_jobs()

    stored = outbox.messages_queue(
        [
            outbox.message_compose(**manage_mail(ann, kind="bulk")),
            outbox.message_compose(**manage_mail(boris, kind="bulk", discloses=ann)),
        ]
    )

    assert all(m.pk for m in stored)
    assert [(m.to_email, m.discloses_id) for m in OutboxMessage.objects.filter(kind="bulk")] == [
        (boris.email, ann.pk),
        (ann.email, None),
    ]
    assert delivery_jobs() == [*already, *(m.pk for m in stored)]
    assert outbox.messages_queue([]) == []
    assert delivery_jobs() == [*already, *(m.pk for m in stored)]


def test_a_rolled_back_message_leaves_neither_the_message_nor_its_job(
    make_supporter, delivery_jobs
):
    ann = make_supporter()
    already = delivery_jobs()

    with pytest.raises(RuntimeError), transaction.atomic():
        queued = outbox.message_queue(**manage_mail(ann, kind="doomed"))
        assert delivery_jobs() == [*already, queued.pk]
        raise RuntimeError("what came after it failed")

    assert not OutboxMessage.objects.filter(kind="doomed").exists()
    assert delivery_jobs() == already


def test_requeueing_gives_only_failed_messages_a_new_round(make_supporter, delivery_jobs):
    ann = make_supporter()
    failed, sent, queued = (
        outbox.message_queue(**manage_mail(ann, kind=kind)) for kind in ("f", "s", "q")
    )
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status="failed", attempts=8, last_error="SMTP down"
    )
    OutboxMessage.objects.filter(pk=sent.pk).update(status="sent", attempts=1)
    already = delivery_jobs()

    assert services.outbox_requeue(messages=OutboxMessage.objects.filter(supporter=ann)) == 1

    states = dict(OutboxMessage.objects.values_list("kind", "status"))
    assert (states["f"], states["s"], states["q"]) == ("queued", "sent", "queued")
    assert OutboxMessage.objects.get(pk=failed.pk).attempts == 0
    assert delivery_jobs() == [*already, failed.pk]
    assert queued.pk in already


def test_requeueing_leaves_a_message_that_is_no_longer_failed(make_supporter, delivery_jobs):
    ann = make_supporter()
    message = outbox.message_queue(**manage_mail(ann, kind="f"))
    OutboxMessage.objects.filter(pk=message.pk).update(status="failed", attempts=8)
    listed = list(OutboxMessage.objects.filter(status="failed"))  # the admin's list page
    OutboxMessage.objects.filter(pk=message.pk).update(status="sent")  # sent meanwhile
    already = delivery_jobs()

    # Nothing queued again, nor counted, nor given a second delivery job.
    assert services.outbox_requeue(messages=listed) == 0

    assert OutboxMessage.objects.filter(pk=message.pk, status="sent", attempts=8).exists()
    assert delivery_jobs() == already


def test_a_manage_link_goes_to_a_known_address_and_nowhere_for_an_unknown_one(
    make_supporter, delivery_jobs
):
    known = make_supporter(email="known@example.org")
    OutboxMessage.objects.all().delete()
    already = delivery_jobs()

    services.manage_link_send(email="nobody@example.org")
    services.manage_link_send(email="own@example.org")  # inside "known@", not it
    assert not OutboxMessage.objects.exists()
    assert delivery_jobs() == already

    services.manage_link_send(email=" KNOWN@example.org ")
    (mail,) = OutboxMessage.objects.all()
    assert (mail.kind, mail.to_email) == ("manage_link", "known@example.org")
    assert links.MANAGE.read(token_in(mail.body_text, "manage")) == known.pk
    assert delivery_jobs() == [*already, mail.pk]


def test_a_manage_link_asked_for_a_merged_away_address_goes_to_the_person_kept(
    make_supporter,
):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    kept = make_supporter(email="kept@example.org")
    supporter_merge(
        kept=kept, merged=make_supporter(email="Old@Example.org"), actor=Actor(user=None)
    )
    OutboxMessage.objects.all().delete()

    services.manage_link_send(email=" old@example.org")

    (mail,) = OutboxMessage.objects.all()
    assert (mail.kind, mail.to_email) == ("manage_link", "kept@example.org")
    assert links.MANAGE.read(token_in(mail.body_text, "manage")) == kept.pk


# --- erasure ---------------------------------------------------------------------------

# The gazetteer and PostGIS's own table: large, read-only, about places, not people. The
# cell tally is counts per hexagon and status, which an erasure must lower: checked on
# its own (tally_is_the_table's count).
NOT_ABOUT_PEOPLE = ["geo_place", "geo_placename", "spatial_ref_sys", "supporters_celltally"]


def tally_is_the_table() -> bool:
    """Whether the cell tally's sums are the supporters' counts per cell and status."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cell, status, sum(n) FROM supporters_celltally GROUP BY 1, 2"
            " HAVING sum(n) <> 0 EXCEPT ALL"
            " SELECT cell, status, count(*) FROM supporters_supporter GROUP BY 1, 2"
        )
        extra = cursor.fetchall()
        cursor.execute(
            "SELECT cell, status, count(*) FROM supporters_supporter GROUP BY 1, 2 EXCEPT ALL"
            " SELECT cell, status, sum(n) FROM supporters_celltally GROUP BY 1, 2"
        )
        return not extra and not cursor.fetchall()


def every_row() -> set[tuple[str, str]]:
    """(table, the row as JSON) for every row of every other table in the database."""
    rows = set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL (%s)",
            [NOT_ABOUT_PEOPLE],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')
            rows |= {(table, r) for (r,) in cursor.fetchall()}
    return rows


def identity(person: Supporter) -> set[str]:
    """Their id and address (taken before erasure: deleting an instance clears its pk)."""
    return {str(person.pk), person.email.lower()}


def names(person: set[str], row_json: str) -> bool:
    """Whether one of a row's values is the person's id or address (equal, not contained)."""
    return bool(person & {str(v).lower() for v in json.loads(row_json).values()})


def test_erasure_deletes_the_persons_rows_and_changes_no_other_row(make_supporter, settings):
    settings.SOSEDI_LOCATION_CHANGES_PER_MONTH = 5
    ann = make_supporter(email="ann@example.org", consents=["public_map", "introductions"])
    joann = make_supporter(email="joann@example.org", consents=["public_map", "email_updates"])
    for person in (ann, joann):
        services.supporter_relocate(supporter=person, location=location_at(lon=37.7, lat=55.8))
        services.consent_set(
            supporter=person, purpose="event_invitations", granted=True, source="manage_page"
        )
    outbox.message_queue(**manage_mail(joann, kind="names_ann", discloses=ann))
    outbox.message_queue(**manage_mail(ann, kind="names_joann", discloses=joann))
    outbox.message_queue(**manage_mail(joann, kind="plain"))
    # Mail to either address that no row ties to a supporter (queued before they joined).
    for address in ("ANN@example.org", "JOANN@example.org"):
        OutboxMessage.objects.create(to_email=address, kind="invite", subject="s", body_text="b")
    before = every_row()
    erased, kept = identity(ann), identity(joann)

    services.supporter_erase(supporter=ann)

    after = every_row()
    assert after <= before, f"rows changed or added: {sorted(after - before)}"
    assert tally_is_the_table()
    gone = before - after
    assert {table for table, _ in gone} == {
        "supporters_supporter",
        "supporters_consentrecord",
        "supporters_outboxmessage",
        "supporters_ratelimitevent",
        "supporters_areaarrival",
    }
    assert all(names(erased, r) for _, r in gone), [r for _, r in gone if not names(erased, r)]
    assert not [r for _, r in after if names(erased, r)], "rows about Ann are left"
    # Joann's own: her row, three consents, four mails, a move, two arrivals (joining and
    # moving). All there, unchanged.
    joanns = {(t, r) for t, r in before if names(kept, r) and not names(erased, r)}
    assert len(joanns) == 11 and joanns <= after
    assert not OutboxMessage.objects.filter(kind="names_ann").exists()  # it disclosed Ann


def test_saving_a_profile_loaded_before_an_unsubscribe_does_not_undo_it(make_supporter):
    supporter = make_supporter(consents=["email_updates", "public_map"])
    page_copy = Supporter.objects.get(pk=supporter.pk)
    services.supporter_unsubscribe(supporter=supporter, source="email_link")
    services.supporter_update_profile(
        supporter=page_copy,
        display_name="New Name",
        phone="",
        language="en",
        preferences=services.Preferences(channel="email", frequency="weekly", topics=[]),
    )
    supporter.refresh_from_db()
    assert supporter.display_name == "New Name" and supporter.frequency == "weekly"
    assert supporter.status == "unsubscribed" and not any(supporter.consents().values())


def test_a_move_loaded_before_a_consent_withdrawal_does_not_undo_it(make_supporter):
    supporter = make_supporter(consents=["public_map"])
    page_copy = Supporter.objects.get(pk=supporter.pk)
    services.consent_set(
        supporter=supporter, purpose="public_map", granted=False, source="manage_page"
    )
    services.supporter_relocate(supporter=page_copy, location=location_at(lon=49.1, lat=55.8))
    supporter.refresh_from_db()
    assert not supporter.consent_public_map
    assert supporter.cell == location_at(lon=49.1, lat=55.8).cell


def test_erasure_after_merges_removes_the_persons_merged_addresses_and_merges_only(
    make_supporter,
):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    nobody = Actor(user=None)
    ann = make_supporter(email="ann@example.org")
    supporter_merge(kept=ann, merged=make_supporter(email="ann.old@example.org"), actor=nobody)
    joann = make_supporter(email="joann@example.org")
    supporter_merge(kept=joann, merged=make_supporter(email="jo@example.org"), actor=nobody)
    # Mail to the merged-away address that no row ties to anyone.
    OutboxMessage.objects.create(to_email="ANN.OLD@example.org", kind="invite", subject="s",
                                 body_text="b")  # fmt: skip
    before = every_row()
    erased = identity(ann) | {"ann.old@example.org"}

    services.supporter_erase(supporter=ann)

    after = every_row()
    assert after <= before, f"rows changed or added: {sorted(after - before)}"
    assert tally_is_the_table()
    gone = before - after
    assert {"supporters_mergedaddress", "supporters_supportermerge"} <= {t for t, _ in gone}
    assert all(names(erased, r) for _, r in gone), [r for _, r in gone if not names(erased, r)]
    assert not [r for _, r in after if names(erased, r)], "rows about Ann are left"
    assert joann.merged_addresses.get().email == "jo@example.org"
    assert joann.merges.get().merged_email == "jo@example.org"
