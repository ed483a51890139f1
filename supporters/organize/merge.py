"""Merging two records of one person: everything about `merged` moves to `kept`.

Every foreign key to Supporter has a rule in RULES, and a merge refuses to start if one
has none (a table added later), so the final DELETE of the merged row cascades nothing;
it checks that too. Most rows simply move. Where moving would break a unique constraint,
because the kept record has the same row already, one of the two stays, deliberately:

- consents: every record moves (the whole history); each purpose's most recent decision,
  across both records, becomes the kept record's current consent;
- tags, activity, a nearby ban, a mailing's send-log row, a texting's text, the survey
  by text in progress: the kept record's stays (the merged record's message itself
  moves with the mail history);
- an RSVP to an event both answered: the most recent answer stays;
- an introduction one request offered to both: the one furthest on (accepted, declined,
  waiting, expired) stays, and the other's reports move to it;
- a block between the two of them is dropped, as are dismissals of the pair itself and
  the pair's possible-duplicate rows (the next search finds the kept record's again);
- limits counted under the merged record's id (home moves, sign-in links) count for the
  kept one.

The merged address (if it had one: people who joined by text may not) becomes a
MergedAddress of the kept person (it still finds them); a blank phone takes the merged
record's. The kept record's other fields stay as they are: the coordinator chooses which
record to keep. A SupporterMerge row records the merge
with its counts, and the audit entry is written in the same transaction.
"""

from collections import Counter
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from supporters.models import ConsentRecord, MergedAddress, Purpose, RateLimitEvent, Supporter
from supporters.nearby.models import (
    Block,
    Introduction,
    Report,
    Rsvp,
)
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import (
    AuditEntry,
    PossibleDuplicate,
    SupporterMerge,
)


class MergeRefused(Exception):
    """Two records that cannot be merged (the same record, or one already gone)."""


class Tally:
    """Rows moved and dropped, per table."""

    def __init__(self) -> None:
        self.moved: Counter = Counter()
        self.dropped: Counter = Counter()

    def move(self, model, n: int) -> None:
        if n:
            self.moved[model._meta.db_table] += n

    def drop(self, model, n: int = 1) -> None:
        if n:
            self.dropped[model._meta.db_table] += n


Rule = Callable[[models.ForeignKey, Supporter, Supporter, Tally], None]


def _rows(model, *conditions, **lookup):
    return model._base_manager.filter(*conditions, **lookup)


def move(field, kept, merged, tally):
    """Every row of the merged record now refers to the kept one."""
    model = field.model
    tally.move(model, _rows(model, **{field.name: merged}).update(**{field.name: kept}))


def unless_kept_has(*together: str, prefer=None) -> Rule:
    """Move rows, except where the kept record has one with the same `together` values:
    then the kept record's stays, unless `prefer(kept_row, merged_row)` picks the other."""

    def rule(field, kept, merged, tally):
        model, name = field.model, field.name
        same = {other: OuterRef(other) for other in together}
        clashing = _rows(model, **{name: merged}).filter(
            Exists(_rows(model, **{name: kept}, **same))
        )
        for theirs in clashing:
            mine = _rows(model, **{name: kept}).get(
                **{
                    other: getattr(theirs, model._meta.get_field(other).attname)
                    for other in together
                }
            )
            loser = mine if prefer is not None and prefer(mine, theirs) is theirs else theirs
            loser.delete()
            tally.drop(model)
        move(field, kept, merged, tally)

    return rule


def _latest_answer(mine: Rsvp, theirs: Rsvp) -> Rsvp:
    if theirs.answered_at and (mine.answered_at is None or theirs.answered_at > mine.answered_at):
        return theirs
    return mine


# How far an introduction has got, furthest first.
_PROGRESS = [
    Introduction.Status.ACCEPTED,
    Introduction.Status.DECLINED,
    Introduction.Status.PENDING,
    Introduction.Status.EXPIRED,
]


_ROLE_RANK = ["leader", "co_leader", "member"]


def _stronger_role(mine, theirs):
    """Both records in one group: the membership that leads more stays."""
    return theirs if _ROLE_RANK.index(theirs.role) < _ROLE_RANK.index(mine.role) else mine


def introductions(field, kept, merged, tally):
    """An introduction between the two records (a request of one offered the other) would
    introduce the person to themselves: it is dropped with its reports. One request's
    introductions to both records: the one furthest on stays, and the other's reports move
    to it."""
    # The merged record's requests are the kept one's by now (requester moves first).
    between = _rows(Introduction, candidate__in=[kept.pk, merged.pk], request__requester=kept)
    tally.drop(Report, _rows(Report, introduction__in=between).delete()[0])
    tally.drop(Introduction, between.delete()[0])
    mine_by_request = {
        i.request_id: i
        for i in _rows(Introduction, candidate=kept).filter(
            request__in=_rows(Introduction, candidate=merged).values("request")
        )
    }
    for theirs in _rows(Introduction, candidate=merged, request__in=list(mine_by_request)):
        mine = mine_by_request[theirs.request_id]
        if _PROGRESS.index(theirs.status) < _PROGRESS.index(mine.status):
            mine, theirs = theirs, mine  # the merged record's is further on: it stays
        for report in _rows(Report, introduction=theirs):
            if _rows(Report, introduction=mine, reporter_id=report.reporter_id).exists():
                report.delete()
                tally.drop(Report)
            else:
                _rows(Report, pk=report.pk).update(introduction=mine)
                tally.move(Report, 1)
        theirs.delete()
        tally.drop(Introduction)
    move(field, kept, merged, tally)


def blocks(other: str) -> Rule:
    """A block between the two of them is dropped; the rest move (once)."""

    def rule(field, kept, merged, tally):
        tally.drop(Block, _rows(Block, **{field.name: merged, other: kept}).delete()[0])
        unless_kept_has(other)(field, kept, merged, tally)

    return rule


def pairs(field, kept, merged, tally):
    """Rows about a pair of records (first < second): the pair of the two themselves is
    dropped, the merged record's other pairs become the kept record's."""
    model = field.model
    for row in _rows(model, Q(first=merged) | Q(second=merged)):
        other = row.second_id if row.first_id == merged.pk else row.first_id
        first, second = sorted([kept.pk, other])
        if other == kept.pk or _rows(model, first_id=first, second_id=second).exists():
            row.delete()
            tally.drop(model)
        else:
            _rows(model, pk=row.pk).update(first_id=first, second_id=second)
            tally.move(model, 1)


def findings(field, kept, merged, tally):
    """A search's pairs with the merged record: the next search finds the kept one's."""
    rows = _rows(PossibleDuplicate, Q(first=merged) | Q(second=merged))
    tally.drop(PossibleDuplicate, rows.delete()[0])


# "<app_label>.<model>.<field>" of every foreign key to Supporter: how its rows move, in
# this order (introductions before their reports).
RULES: dict[str, Rule] = {
    "supporters.consentrecord.supporter": move,
    "supporters.outboxmessage.supporter": move,
    "supporters.outboxmessage.discloses": move,
    "supporters.mergedaddress.supporter": move,
    "supporters.signinlink.supporter": move,
    "supporters.introductionrequest.requester": move,
    "supporters.introduction.candidate": introductions,
    "supporters.report.reporter": unless_kept_has("introduction"),
    "supporters.report.reported": move,
    "supporters.block.blocker": blocks("blocked"),
    "supporters.block.blocked": blocks("blocker"),
    "supporters.nearbyban.supporter": unless_kept_has(),
    "supporters.areaarrival.supporter": move,
    "supporters.event.host": move,
    "supporters.rsvp.supporter": unless_kept_has("event", prefer=_latest_answer),
    "supporters.activity.supporter": unless_kept_has("kind", "event"),
    "supporters.tagging.supporter": unless_kept_has("name"),
    "supporters.mailingrecipient.supporter": unless_kept_has("mailing"),
    "supporters.duplicatedismissal.first": pairs,
    "supporters.duplicatedismissal.second": pairs,
    "supporters.possibleduplicate.first": findings,
    "supporters.possibleduplicate.second": findings,
    "supporters.supportermerge.kept": move,
    "supporters.localgroup.founder": move,
    "supporters.groupmembership.supporter": unless_kept_has("group", prefer=_stronger_role),
    "supporters.groupinvitation.supporter": unless_kept_has("group"),
    "supporters.groupmail.sender": move,
    "supporters.trustedhost.supporter": unless_kept_has(),
    "supporters.textmessage.supporter": unless_kept_has("texting"),
    "supporters.inboundtext.supporter": move,
    "supporters.surveyprogress.supporter": unless_kept_has(),
}


def supporter_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key to Supporter, hidden ones (related_name="+") included."""
    return [
        rel.field
        for rel in Supporter._meta.get_fields(include_hidden=True)
        if rel.is_relation and rel.auto_created and not rel.concrete
    ]


def _key(field: models.ForeignKey) -> str:
    return f"{field.model._meta.label_lower}.{field.name}"


def _rules() -> list[tuple[models.ForeignKey, Rule]]:
    """(foreign key, rule) in RULES' order; refused if a foreign key has no rule."""
    fields = {_key(f): f for f in supporter_foreign_keys()}
    if missing := sorted(fields.keys() - RULES.keys()):
        raise ImproperlyConfigured(f"No merge rule for the foreign keys {missing}")
    return [(fields[key], rule) for key, rule in RULES.items() if key in fields]


def _consents_settle(kept: Supporter) -> list[str]:
    """Each purpose's most recent decision, in both histories, becomes the current consent;
    returns the fields that changed. A purpose nobody decided on stays as it was."""
    latest = (
        ConsentRecord.objects.filter(supporter=kept)
        .order_by("purpose", "-created_at", "-id")
        .distinct("purpose")
        .values_list("purpose", "granted")
    )
    changed = []
    for purpose, granted in latest:
        field = f"consent_{Purpose(purpose).value}"
        if getattr(kept, field) != granted:
            setattr(kept, field, granted)
            changed.append(field)
    return changed


def _address_keep(kept: Supporter, email: str) -> None:
    """The merged-away address finds the kept person from now on."""
    MergedAddress.objects.annotate(email_lower=Lower("email")).filter(
        email_lower=email.lower()
    ).delete()  # only if an earlier merge left it pointing elsewhere: it is this record's
    MergedAddress.objects.create(email=email, supporter=kept)


@transaction.atomic
def supporter_merge(*, kept: Supporter, merged: Supporter, actor: Actor) -> SupporterMerge:
    """Merge `merged` into `kept`, as the module's docstring says, in one transaction with
    its record and its audit entry."""
    if kept.pk == merged.pk:
        raise MergeRefused(_("a record cannot be merged into itself."))
    rules = _rules()
    locked = {
        s.pk: s
        for s in Supporter.objects.select_for_update()
        .filter(pk__in=[kept.pk, merged.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise MergeRefused(_("one of the two is no longer on the list."))
    kept, merged = locked[kept.pk], locked[merged.pk]

    tally = Tally()
    for field, rule in rules:
        rule(field, kept, merged, tally)
    limits = RateLimitEvent.objects.filter(key=str(merged.pk)).update(key=str(kept.pk))
    tally.move(RateLimitEvent, limits)
    changed = _consents_settle(kept)
    if not kept.phone and merged.phone:
        kept.phone = merged.phone
        changed.append("phone")
    if changed:
        kept.save(update_fields=changed)
    if merged.email:
        _address_keep(kept, merged.email)

    _count, deleted = Supporter.objects.filter(pk=merged.pk).delete()
    if deleted != {Supporter._meta.label: 1}:
        raise RuntimeError(f"The merged record still had rows: {deleted}")
    user = actor.user if actor.user is not None and actor.user.is_authenticated else None
    merge = SupporterMerge.objects.create(
        kept=kept,
        merged_id=merged.pk,
        merged_email=merged.email,
        merged_name=merged.display_name,
        moved=dict(tally.moved),
        dropped=dict(tally.dropped),
        merged_by=user,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.MERGE,
        filter={"page": "duplicates", "merge": merge.pk},
        row_count=2,
        detail=(
            f"one record merged into another: {sum(tally.moved.values())} rows moved,"
            f" {sum(tally.dropped.values())} dropped"
        ),
    )
    return merge


def merge_preview(*, merged: Supporter) -> dict[str, int]:
    """How many rows of each table refer to a record: what merging it would move (a
    search's findings, which are dropped, aside)."""
    counts: Counter = Counter()
    for field in supporter_foreign_keys():
        if field.model is PossibleDuplicate:
            continue
        if n := _rows(field.model, **{field.name: merged}).count():
            counts[field.model._meta.db_table] += n
    return dict(counts)
