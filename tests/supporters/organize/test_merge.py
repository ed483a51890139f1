"""supporters/organize/merge.py: merging two records of one person loses nothing, keeps
the whole consent history, is one audited transaction, and the merged-away address still
finds the person."""

import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.utils import timezone

from supporters.models import ConsentRecord, MergedAddress, OutboxMessage, RateLimitEvent, Supporter
from supporters.nearby.models import (
    Activity,
    Block,
    Event,
    Introduction,
    IntroductionRequest,
    NearbyBan,
    Report,
    Rsvp,
    SignInLink,
)
from supporters.organize import merge
from supporters.organize.audit import Actor
from supporters.organize.duplicates import ordered
from supporters.organize.models import (
    AuditEntry,
    ConsentSource,
    DuplicateDismissal,
    Import,
    Mailing,
    MailingRecipient,
    PossibleDuplicate,
    Segment,
    SupporterMerge,
    Tagging,
)
from tests.supporters.test_services import every_row

from .conftest import inserts_refused

pytestmark = pytest.mark.django_db

NOBODY = Actor(user=None)


def mail(to: Supporter | None, kind: str, **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(
        supporter=to, to_email=to.email if to else fields.pop("to_email"), kind=kind,
        subject=kind, body_text=kind, **fields,
    )  # fmt: skip


def event(host: Supporter, title: str) -> Event:
    start = timezone.now() + timedelta(days=3)
    return Event.objects.create(
        host=host, title=title, description="d", starts_at=start,
        ends_at=start + timedelta(hours=2), venue_name="Park", venue=Point(37.6, 55.7),
        timezone="Europe/Moscow", radius_km=5, status=Event.Status.APPROVED,
    )  # fmt: skip


def request_by(requester: Supporter) -> IntroductionRequest:
    return IntroductionRequest.objects.create(
        requester=requester, message="Hello", expires_at=timezone.now() + timedelta(days=14)
    )


def offer(request, candidate, status=Introduction.Status.PENDING) -> Introduction:
    answered = None if status == Introduction.Status.PENDING else timezone.now()
    return Introduction.objects.create(
        request=request, candidate=candidate, band="1_3", status=status, answered_at=answered
    )


@pytest.fixture
def two_records(make_supporter):
    """Ann's two records, with a row in every table that can hold one about a person, and
    two bystanders. Returns (kept, merged, {what the clash rules drop: (table, id)},
    {an id: the id that stands for it after the merge})."""
    kept = make_supporter(email="ann@example.org", name="Анна Смирнова", consents=["email_updates"])
    merged = make_supporter(
        email="Anna.Work@example.org", name="Анна Смирнова", phone="+7 916 123-45-67",
        consents=["public_map", "introductions"],
    )  # fmt: skip
    boris = make_supporter(email="boris@example.org", name="Борис")
    vera = make_supporter(email="vera@example.org", name="Вера")
    drop = set()

    # Tags: both "volunteer" (one stays), the merged record's "driver".
    Tagging.objects.create(supporter=kept, name="volunteer")
    drop.add(("supporters_tagging", Tagging.objects.create(supporter=merged, name="volunteer").pk))
    Tagging.objects.create(supporter=merged, name="driver")
    # Import history: a consent from a paper form.
    job = Import.objects.create(filename="rally.csv", path="/nowhere/rally.csv")
    record = ConsentRecord.objects.create(
        supporter=merged, purpose="event_invitations", granted=True, source="import",
        wording_version="imported",
    )  # fmt: skip
    ConsentSource.objects.create(record=record, note="paper form, rally", import_job=job)
    Supporter.objects.filter(pk=merged.pk).update(consent_event_invitations=True)
    # Mail: a mailing that reached both (one send-log row stays, both mails move), one
    # that reached the merged record, mail naming it to Boris, and mail to its address
    # that no row ties to it.
    segment = Segment.objects.create(name="Everyone")
    both = Mailing.objects.create(segment=segment, subject="News", body="b")
    MailingRecipient.objects.create(mailing=both, supporter=kept, message=mail(kept, "mailing"))
    twice = MailingRecipient.objects.create(
        mailing=both, supporter=merged, message=mail(merged, "mailing")
    )
    drop.add(("supporters_mailingrecipient", twice.pk))
    once = Mailing.objects.create(segment=segment, subject="Call", body="b")
    MailingRecipient.objects.create(mailing=once, supporter=merged, message=mail(merged, "mailing"))
    mail(boris, "nearby_introduced", discloses=merged)
    mail(None, "invite", to_email="anna.work@example.org")
    SignInLink.objects.create(supporter=merged)
    # Introductions: the merged record asked Boris; Vera's request offered both records
    # (the merged one accepted: it stays, with the report the kept one made); Boris's
    # request offered the merged record, which declined and reported it.
    offer(request_by(merged), boris)
    verasks = request_by(vera)
    drop.add(("supporters_introduction", str((to_kept := offer(verasks, kept)).pk)))
    to_merged = offer(verasks, merged, Introduction.Status.ACCEPTED)
    renamed = {str(merged.pk): str(kept.pk), str(to_kept.pk): str(to_merged.pk)}
    Report.objects.create(introduction=to_kept, reporter=kept, reported=vera, note="spam")
    declined = offer(request_by(boris), merged, Introduction.Status.DECLINED)
    Report.objects.create(introduction=declined, reporter=merged, reported=boris)
    # Blocks: of each other (dropped), both of Boris (one stays), Vera's of the merged one.
    drop.add(("supporters_block", Block.objects.create(blocker=merged, blocked=kept).pk))
    Block.objects.create(blocker=kept, blocked=boris)
    drop.add(("supporters_block", Block.objects.create(blocker=merged, blocked=boris).pk))
    Block.objects.create(blocker=vera, blocked=merged)
    NearbyBan.objects.create(supporter=merged, reason="upheld report")
    # Events: both answered Boris's (the most recent answer stays), the merged record
    # hosts one, and both went to Boris's (one activity row stays).
    borises, its_own = event(boris, "Boris's walk"), event(merged, "Ann's picnic")
    older = Rsvp.objects.create(
        event=borises, supporter=kept, answer="maybe",
        answered_at=timezone.now() - timedelta(days=2),
    )  # fmt: skip
    drop.add(("supporters_rsvp", str(older.pk)))
    Rsvp.objects.create(
        event=borises, supporter=merged, answer="yes",
        answered_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    Rsvp.objects.create(event=its_own, supporter=vera, answer="yes", answered_at=timezone.now())
    went = {"kind": "event_attended", "event": borises, "occurred_at": borises.starts_at}
    Activity.objects.create(supporter=kept, **went)
    drop.add(("supporters_activity", Activity.objects.create(supporter=merged, **went).pk))
    Activity.objects.create(
        supporter=merged, kind="event_hosted", event=its_own, occurred_at=its_own.starts_at
    )
    RateLimitEvent.objects.create(scope="relocate", key=str(merged.pk))
    # An earlier merge into the merged record.
    MergedAddress.objects.create(email="a.smirnova@old.example.org", supporter=merged)
    SupporterMerge.objects.create(
        kept=merged, merged_id=uuid.uuid4(), merged_email="a.smirnova@old.example.org"
    )
    # Dismissed pairs: of the two (dropped), of each with Boris (one stays), of the
    # merged one with Vera (becomes the kept one's); and the search's findings.
    dismissals = [(kept, merged), (kept, boris), (merged, boris), (merged, vera)]
    rows = [DuplicateDismissal.objects.create(first=a, second=b)
            for a, b in (ordered(*pair) for pair in dismissals)]  # fmt: skip
    drop |= {
        ("supporters_duplicatedismissal", rows[0].pk),
        ("supporters_duplicatedismissal", rows[2].pk),
    }
    now = timezone.now()
    for a, b in (ordered(kept, merged), ordered(merged, vera)):
        found = PossibleDuplicate.objects.create(
            first=a, second=b, phone="+79161234567", found_at=now
        )
        drop.add(("supporters_possibleduplicate", found.pk))
    kept.refresh_from_db()
    merged.refresh_from_db()
    return kept, merged, drop, renamed


def _rows() -> dict[tuple[str, str], dict]:
    """Every row of every table (test_services.every_row), as (table, canonical JSON)."""
    rows = {}
    for table, text in every_row():
        row = json.loads(text)
        rows[(table, json.dumps(row, sort_keys=True))] = row
    return rows


def _as_kept(row: dict, renamed: dict[str, str]) -> str:
    """The row with every reference to the merged record made to the kept one (and to a
    dropped introduction, to the one that stays)."""
    out = {k: renamed.get(v, v) if isinstance(v, str) else v for k, v in row.items()}
    if "first_id" in out and "second_id" in out:
        out["first_id"], out["second_id"] = sorted([out["first_id"], out["second_id"]])
    return json.dumps(out, sort_keys=True)


def test_nothing_is_lost_every_row_about_the_merged_record_now_is_the_kept_ones(two_records):
    kept, merged, drop, renamed = two_records
    k, m = str(kept.pk), str(merged.pk)
    before = _rows()

    done = merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)

    after = _rows()
    gone = {key: row for key, row in before.items() if key not in after}
    new = {key: row for key, row in after.items() if key not in before}
    moved, dropped = set(), set()
    for (table, _text), row in gone.items():
        if table == "supporters_supporter":
            assert row["id"] in (k, m)  # the merged row, deleted; the kept one, changed
        elif (table, _as_kept(row, renamed)) in after:
            moved.add((table, _as_kept(row, renamed)))
        else:
            dropped.add((table, row["id"]))
    assert dropped == drop, "dropped rows that no documented rule drops"
    arrived = {key for key in new if key not in moved}
    assert {table for table, _ in arrived} == {
        "supporters_supporter",  # the kept record, with its new consents and phone
        "supporters_mergedaddress",  # the merged-away address
        "supporters_supportermerge",  # this merge
        "supporters_auditentry",
    }
    assert len(arrived) == 4
    # Nothing refers to the merged record any more but the merge's own record.
    left = [(t, r["id"]) for (t, _), r in after.items() if m in map(str, r.values())]
    assert left == [("supporters_supportermerge", done.pk)]
    assert not Supporter.objects.filter(pk=merged.pk).exists()
    # The counts recorded add up to what moved and what was dropped.
    assert sum(done.moved.values()) == len(moved)
    assert sum(done.dropped.values()) == len(drop)


def test_the_kept_record_takes_the_latest_consents_a_blank_phone_and_the_address(two_records):
    kept, merged, _drop, _renamed = two_records
    history = sorted(
        ConsentRecord.objects.filter(supporter__in=[kept, merged]).values_list("pk", flat=True)
    )

    done = merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)

    kept.refresh_from_db()
    assert sorted(kept.consent_records.values_list("pk", flat=True)) == history
    # Each purpose granted in either history and never withdrawn since.
    assert kept.consents() == {
        "public_map": True, "introductions": True, "event_invitations": True,
        "email_updates": True,
        "text_messages": False,
    }  # fmt: skip
    assert (kept.email, kept.display_name, kept.phone) == (
        "ann@example.org",
        "Анна Смирнова",
        "+7 916 123-45-67",
    )
    assert sorted(kept.merged_addresses.values_list("email", flat=True)) == [
        "Anna.Work@example.org", "a.smirnova@old.example.org",
    ]  # fmt: skip
    assert (done.merged_email, done.merged_name, done.merged_id) == (
        merged.email,
        merged.display_name,
        merged.pk,
    )
    assert done.moved["supporters_consentrecord"] == 3  # two grants at sign-up, one imported
    assert kept.merges.count() == 2  # this one and the earlier one into the merged record
    assert sorted(kept.taggings.values_list("name", flat=True)) == ["driver", "volunteer"]
    assert ConsentSource.objects.get().record.supporter == kept  # import history


def _decide(supporter, purpose, granted, days_ago):
    record = ConsentRecord.objects.create(
        supporter=supporter, purpose=purpose, granted=granted, source="manage_page",
        wording_version="v1",
    )  # fmt: skip
    ConsentRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    Supporter.objects.filter(pk=supporter.pk).update(**{f"consent_{purpose}": granted})


def test_each_purpose_takes_the_most_recent_decision_in_either_history(make_supporter):
    kept, merged = make_supporter(email="k@example.org"), make_supporter(email="m@example.org")
    _decide(kept, "email_updates", True, days_ago=30)
    _decide(merged, "email_updates", False, days_ago=3)  # withdrawn later: withdrawn
    _decide(merged, "public_map", True, days_ago=40)
    _decide(kept, "public_map", False, days_ago=20)  # withdrawn later: withdrawn
    _decide(kept, "introductions", True, days_ago=50)
    _decide(kept, "introductions", False, days_ago=10)
    _decide(merged, "introductions", True, days_ago=5)  # granted again later: granted
    kept.refresh_from_db()

    merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)

    kept.refresh_from_db()
    assert kept.consents() == {
        "public_map": False, "introductions": True, "event_invitations": False,
        "email_updates": False,
        "text_messages": False,
    }  # fmt: skip
    assert kept.consent_records.count() == 7


def test_every_foreign_key_to_a_supporter_has_a_merge_rule():
    """A table added later with a key to Supporter fails here until RULES says how its
    rows move (and a merge refuses to start meanwhile)."""
    keys = {f"{f.model._meta.label_lower}.{f.name}" for f in merge.supporter_foreign_keys()}
    assert keys == set(merge.RULES)
    assert "supporters.signinlink.supporter" in keys  # hidden ones (related_name="+") too


def test_a_merge_refuses_to_start_with_a_key_it_has_no_rule_for(two_records, monkeypatch):
    kept, merged, _drop, _renamed = two_records
    monkeypatch.delitem(merge.RULES, "supporters.rsvp.supporter")
    before = every_row()
    with pytest.raises(ImproperlyConfigured, match="supporters.rsvp.supporter"):
        merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)
    assert every_row() == before


def test_a_merge_is_one_transaction_with_its_audit_entry(two_records):
    kept, merged, _drop, _renamed = two_records
    before = every_row()
    with inserts_refused("supporters_auditentry"), pytest.raises(DatabaseError):
        merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)
    assert every_row() == before  # both records, and everything about them, as they were

    done = merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.actor, entry.row_count) == ("merge", "manage.py", 2)
    assert entry.filter == {"page": "duplicates", "merge": done.pk}
    recorded = json.dumps([entry.detail, entry.filter], ensure_ascii=False)
    for who in (str(kept.pk), str(merged.pk), kept.email, merged.email, kept.display_name):
        assert who not in recorded  # the log says what was done, never to whom


def test_a_record_is_not_merged_into_itself_nor_a_record_gone(make_supporter):
    ann = make_supporter()
    with pytest.raises(merge.MergeRefused):
        merge.supporter_merge(kept=ann, merged=ann, actor=NOBODY)
    gone = make_supporter()
    Supporter.objects.filter(pk=gone.pk).delete()
    with pytest.raises(merge.MergeRefused):
        merge.supporter_merge(kept=ann, merged=gone, actor=NOBODY)
    assert Supporter.objects.filter(pk=ann.pk).exists() and not AuditEntry.objects.exists()


def test_a_ban_follows_the_person_and_a_dismissal_of_the_pair_goes(make_supporter):
    kept, merged = make_supporter(), make_supporter()
    NearbyBan.objects.create(supporter=merged)
    DuplicateDismissal.objects.create(
        first=ordered(kept, merged)[0], second=ordered(kept, merged)[1]
    )

    merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)

    assert NearbyBan.objects.get().supporter == kept
    assert not DuplicateDismissal.objects.exists()


def test_an_introduction_between_the_two_records_goes_with_its_reports(make_supporter):
    kept, merged, boris = make_supporter(), make_supporter(), make_supporter()
    asked_other = offer(request_by(kept), merged, Introduction.Status.DECLINED)
    Report.objects.create(introduction=asked_other, reporter=merged, reported=kept)
    offer(request_by(merged), kept)
    to_boris = offer(request_by(merged), boris)

    done = merge.supporter_merge(kept=kept, merged=merged, actor=NOBODY)

    # Nobody is offered to themselves, nor reports themselves; the rest moved.
    assert list(Introduction.objects.values_list("pk", "request__requester", "candidate")) == [
        (to_boris.pk, kept.pk, boris.pk)
    ]
    assert not Report.objects.exists()
    assert done.dropped["supporters_introduction"] == 2
    assert done.dropped["supporters_report"] == 1
    assert IntroductionRequest.objects.filter(requester=kept).count() == 3
