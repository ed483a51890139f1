"""Events keep their venue's time zone, in which their times are typed and shown.

Events proposed before this were read as if typed in the server's TIME_ZONE (UTC by
default): "11:00" at a Novosibirsk venue was stored as 11:00 UTC and mailed as such. The
host meant 11:00 at the venue, so each event's times are read again as that wall-clock
time in its venue's zone (the zone of the nearest gazetteer locality).
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

import geo.timezones


def _zone_at(cursor, venue) -> str:
    cursor.execute(
        "SELECT timezone FROM geo_place WHERE timezone <> ''"
        " ORDER BY point <-> %s::geography LIMIT 1",
        [venue.ewkt],
    )
    row = cursor.fetchone()
    return row[0] if row else settings.TIME_ZONE


def _moved(value, *, read_in: ZoneInfo, now_in: ZoneInfo):
    """The same wall-clock time, read in another zone."""
    return value.astimezone(read_in).replace(tzinfo=now_in, fold=0)


def _reread(apps, schema_editor, *, forwards: bool):
    Event = apps.get_model("supporters", "Event")
    Activity = apps.get_model("supporters", "Activity")
    server = ZoneInfo(settings.TIME_ZONE)
    with schema_editor.connection.cursor() as cursor:
        for event in Event.objects.all().iterator():
            if forwards:
                event.timezone = _zone_at(cursor, event.venue)
            venue = ZoneInfo(event.timezone)
            read_in, now_in = (server, venue) if forwards else (venue, server)
            length = event.ends_at - event.starts_at
            event.starts_at = _moved(event.starts_at, read_in=read_in, now_in=now_in)
            event.ends_at = _moved(event.ends_at, read_in=read_in, now_in=now_in)
            if event.ends_at <= event.starts_at:  # across a clock change
                event.ends_at = event.starts_at + max(length, timedelta(minutes=1))
            event.save(update_fields=["timezone", "starts_at", "ends_at"])
            Activity.objects.filter(event=event).update(occurred_at=event.starts_at)


def forwards(apps, schema_editor):
    _reread(apps, schema_editor, forwards=True)


def backwards(apps, schema_editor):
    _reread(apps, schema_editor, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("supporters", "0005_alter_supporter_location_precision"),
        # The gazetteer's time zones, filled in there.
        ("geo", "0003_place_timezone"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="timezone",
            field=models.CharField(
                default="UTC",
                help_text="the venue's IANA time zone, in which the times are typed and shown",
                max_length=64,
                validators=[geo.timezones.validate_timezone],
                verbose_name="time zone",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
    ]
