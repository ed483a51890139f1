"""Supporters per (cell, status), kept by statement triggers: see CellTally."""

from django.db import migrations, models

# Statement triggers with transition tables: one INSERT into the tally per statement on
# supporters, whatever its number of rows, and only the rows whose cell or status an
# UPDATE changed are counted again. No row of the tally is ever updated, so concurrent
# sign-ups never wait on one another here.
TALLY_TRIGGERS = """
CREATE FUNCTION supporters_celltally_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO supporters_celltally (cell, status, n)
        SELECT cell, status, count(*) FROM tally_new GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO supporters_celltally (cell, status, n)
        SELECT cell, status, -count(*) FROM tally_old GROUP BY 1, 2;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO supporters_celltally (cell, status, n)
        SELECT change.cell, change.status, sum(change.d)
        FROM tally_old o JOIN tally_new n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.cell, o.status, -1), (n.cell, n.status, 1))
            AS change(cell, status, d)
        WHERE (o.cell, o.status) IS DISTINCT FROM (n.cell, n.status)
        GROUP BY 1, 2 HAVING sum(change.d) <> 0;
    ELSE
        DELETE FROM supporters_celltally;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER supporters_celltally_insert AFTER INSERT ON supporters_supporter
    REFERENCING NEW TABLE AS tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION supporters_celltally_count();
CREATE TRIGGER supporters_celltally_delete AFTER DELETE ON supporters_supporter
    REFERENCING OLD TABLE AS tally_old
    FOR EACH STATEMENT EXECUTE FUNCTION supporters_celltally_count();
CREATE TRIGGER supporters_celltally_update AFTER UPDATE ON supporters_supporter
    REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION supporters_celltally_count();
CREATE TRIGGER supporters_celltally_truncate AFTER TRUNCATE ON supporters_supporter
    FOR EACH STATEMENT EXECUTE FUNCTION supporters_celltally_count();

-- The people already on the list, counted with no sign-up able to slip in between.
LOCK TABLE supporters_supporter IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO supporters_celltally (cell, status, n)
SELECT cell, status, count(*) FROM supporters_supporter GROUP BY 1, 2;
"""

DROP_TALLY_TRIGGERS = """
DROP TRIGGER supporters_celltally_insert ON supporters_supporter;
DROP TRIGGER supporters_celltally_delete ON supporters_supporter;
DROP TRIGGER supporters_celltally_update ON supporters_supporter;
DROP TRIGGER supporters_celltally_truncate ON supporters_supporter;
DROP FUNCTION supporters_celltally_count();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("supporters", "0017_text_messages"),
    ]

    operations = [
        migrations.CreateModel(
            name="CellTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cell", models.BigIntegerField()),
                ("status", models.CharField(max_length=16)),
                ("n", models.IntegerField()),
            ],
        ),
        migrations.RunSQL(TALLY_TRIGGERS, DROP_TALLY_TRIGGERS),
    ]
