"""The organizer workspace's tables: tags, segments, mailings, imports and the audit log.

Every foreign key to Supporter cascades, so erasing a person removes these rows too. The
audit log holds no key to anyone on the list: it records filters and row counts.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from supporters.models import ConsentRecord, OutboxMessage, Purpose, Supporter, Topic

__all__ = [
    "AuditEntry",
    "CellTally",
    "ConsentSource",
    "DuplicateDismissal",
    "DuplicateSearch",
    "Import",
    "ImportMapping",
    "SupporterMerge",
    "Mailing",
    "MailingRecipient",
    "PossibleDuplicate",
    "Segment",
    "Tagging",
]


class Tagging(models.Model):
    """One organizer-given label on a supporter (from an import, e.g. 'volunteer')."""

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="taggings")
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["supporter", "name"], name="tagging_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="tagging_name_not_empty"),
        ]
        indexes = [models.Index(fields=["name"], name="tagging_name")]

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """Who a message or an export is for: active supporters in an area, with the filters.

    The area is a polygon drawn on the map, or a circle (centre and radius); or none
    (everywhere). Tags, a consent purpose, a country, a region and the dates joined are
    the dashboard's filters, kept so that the segment holds what the dashboard showed.
    """

    name = models.CharField(_("name"), max_length=120)
    area = models.PolygonField(srid=4326, null=True, blank=True)
    centre = models.PointField(srid=4326, null=True, blank=True)
    radius_km = models.FloatField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=200, blank=True)
    joined_from = models.DateField(null=True, blank=True)
    joined_to = models.DateField(null=True, blank=True)
    # Only the members of one local group (a group is archived, never deleted).
    group = models.ForeignKey(
        "supporters.LocalGroup", null=True, blank=True, on_delete=models.PROTECT,
        related_name="segments",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(joined_from__isnull=True)
                | Q(joined_to__isnull=True)
                | Q(joined_from__lte=F("joined_to")),
                name="segment_joined_in_order",
            ),
            models.CheckConstraint(
                condition=Q(centre__isnull=True, radius_km__isnull=True)
                | Q(centre__isnull=False, radius_km__gt=0, radius_km__lte=500),
                name="segment_circle_complete",
            ),
            models.CheckConstraint(
                condition=Q(area__isnull=True) | Q(centre__isnull=True),
                name="segment_one_area",
            ),
        ]
        permissions = [
            ("view_aggregates", "See the dashboard: heatmap, hotspots, counts"),
            ("view_people", "See person-level lists"),
            ("export_aggregates", "Export segments as counts per cell"),
            ("export_people", "Export segments with person-level fields"),
            ("send_mailing", "Send email to a segment"),
            ("import_supporters", "Import supporters from CSV"),
        ]

    def __str__(self) -> str:
        return self.name

    def describe(self) -> dict:
        """The segment as the audit log records it: its definition, not its members."""
        return {
            "segment": self.pk,
            "area": self.area.wkt if self.area else None,
            "centre": [self.centre.x, self.centre.y] if self.centre else None,
            "radius_km": self.radius_km,
            "tags": self.tags,
            "purpose": self.purpose,
            "country": self.country_code,
            "region": self.region,
            "joined_from": self.joined_from.isoformat() if self.joined_from else None,
            "joined_to": self.joined_to.isoformat() if self.joined_to else None,
            "group": str(self.group_id) if self.group_id else None,
        }


class Mailing(models.Model):
    """An email written in the workspace for the people in a segment who want it.

    They gave email consent, chose its topic (or no topic) and a frequency it fits; see
    selectors.segment_members.
    """

    class Status(models.TextChoices):
        PREPARING = "preparing", _("preparing")
        SENDING = "sending", _("sending")
        DONE = "done", _("done")

    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="mailings")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    # Blank: a general update, for everyone whatever topics they chose.
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices, blank=True)
    # Calls to action also reach 'only calls to action' people, and ignore weekly/monthly caps.
    call_to_action = models.BooleanField(_("call to action"), default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARING)
    recipients_total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class MailingRecipient(models.Model):
    """The send log: one row per person a mailing goes to, with the outbox message."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(OutboxMessage, on_delete=models.CASCADE, related_name="+")

    class Meta:
        app_label = "supporters"
        constraints = [
            # The guarantee against a second copy: one message per person per mailing.
            models.UniqueConstraint(fields=["mailing", "supporter"], name="mailing_once"),
        ]


class Import(models.Model):
    """An import of a CSV or .xlsx file, run by the worker; its mapping, progress and
    error report live here."""

    class Status(models.TextChoices):
        NEW = "new", _("waiting for its mapping")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    # How the file is read: {header as in the file: field name, or "" to ignore it}, and
    # the file-level settings (encoding, consent source, language, country, tag separator).
    columns = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    # A dry run checks every row and writes the counts and the report, and no supporter.
    dry_run = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class ImportMapping(models.Model):
    """A column mapping saved by name, offered again for a file with the same header."""

    name = models.CharField(max_length=100, unique=True)
    # sha256 of the header's cells, trimmed and lower-cased, joined by newlines.
    header_key = models.CharField(max_length=64, db_index=True)
    header = models.JSONField(default=list)
    columns = models.JSONField(default=dict)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "supporters"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentSource(models.Model):
    """Where an imported consent was given, in the importer's words (e.g. 'paper form')."""

    record = models.OneToOneField(
        ConsentRecord, on_delete=models.CASCADE, related_name="imported_from"
    )
    note = models.CharField(max_length=200)
    import_job = models.ForeignKey(
        Import, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "supporters"

    def __str__(self) -> str:
        return self.note


class DuplicateDismissal(models.Model):
    """A coordinator's word that two records are different people: not proposed again."""

    first = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="duplicate_dismissal_pair"),
            models.CheckConstraint(
                condition=Q(first__lt=F("second")), name="duplicate_dismissal_ordered"
            ),
        ]


class PossibleDuplicate(models.Model):
    """Two records the last search found probably to be one person, and why: the same
    phone number, names alike in one hexagon or town, or both (duplicates.py)."""

    first = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    # The number both give, in E.164; "" if the pair was proposed for its names only.
    phone = models.CharField(max_length=20, blank=True)
    # pg_trgm similarity of the names, if at least SOSEDI_DUPLICATE_NAME_SIMILARITY.
    name_similarity = models.FloatField(null=True, blank=True)
    same_cell = models.BooleanField(default=False)
    found_at = models.DateTimeField()

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="possible_duplicate_pair"),
            models.CheckConstraint(
                condition=Q(first__lt=F("second")), name="possible_duplicate_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(phone="") | Q(name_similarity__isnull=False),
                name="possible_duplicate_has_reason",
            ),
        ]


class DuplicateSearch(models.Model):
    """One search for possible duplicates by the worker: when, how long, what it found."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    people = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "supporters"
        ordering = ["-started_at"]


class SupporterMerge(models.Model):
    """One record merged into another: shown on the kept person's page. The merged-away
    row is gone; what it held moved to `kept` (counts per table in `moved`), except the
    rows that would have repeated one of the kept person's (counts in `dropped`)."""

    kept = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="merges")
    merged_id = models.UUIDField()
    merged_email = models.EmailField(max_length=254)
    merged_name = models.CharField(max_length=100, blank=True)
    moved = models.JSONField(default=dict)
    dropped = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-merged_at"]


class CellTally(models.Model):
    """Supporters per (H3 cell, status), for the heatmap and hotspots (supporters/organize/
    tally.py).

    Written only by statement triggers on the supporters' table (migration 0018): every
    INSERT, DELETE and UPDATE of a cell or status appends its change in counts (+n, -n),
    in the same transaction, without locking a shared row; TRUNCATE empties it. The sum of
    `n` per (cell, status) is therefore always the table's count; the worker folds the
    appended rows into one per (cell, status) now and then (tally_compact).
    """

    cell = models.BigIntegerField()
    status = models.CharField(max_length=16)
    n = models.IntegerField()

    class Meta:
        app_label = "supporters"


class AuditEntry(models.Model):
    """One view of person-level data, export or message: append-only.

    A PostgreSQL trigger (migration) rejects UPDATE and DELETE. There is no foreign key to
    a user or a supporter, so neither deleting an account nor erasing a person touches it.
    """

    class Action(models.TextChoices):
        VIEW_PEOPLE = "view_people", _("viewed a list of people")
        EXPORT = "export", _("exported")
        MAILING = "mailing", _("sent a message")
        IMPORT = "import", _("imported")
        MERGE = "merge", _("merged two records")
        TEXTING = "texting", _("sent a text message")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.IntegerField(null=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.CharField(max_length=200, blank=True)
    filter = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField()
    client = models.CharField(max_length=80, blank=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.row_count}"
