"""Supporters per cell and status from the tally (CellTally), for the heatmap and the
hotspots: tens of thousands of rows to add up instead of every supporter."""

from django.db import connection, connections, router, transaction

from geo.snapshot import h3_parent_sql
from supporters.models import Supporter
from supporters.organize.models import CellTally


def tally_counts(*, status: str, resolution: int) -> list[tuple[int, int, int]]:
    """(cell, supporters with `status` or of every status when it is "", active
    supporters) per H3 cell at `resolution` (finer cells counted in their parent), in no
    particular order: the rows `geo.heatmap.counts_placed` takes."""
    parent = h3_parent_sql("cell", "%(res)s")
    # A raw query: on the replica when the view reads from it (ops/replica.py).
    with connections[router.db_for_read(CellTally)].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT CASE WHEN ((cell >> 52) & 15) > %(res)s THEN {parent} ELSE cell END AS c,
                   coalesce(sum(n) FILTER (WHERE %(status)s = '' OR status = %(status)s), 0)::int,
                   coalesce(sum(n) FILTER (WHERE status = %(active)s), 0)::int
            FROM supporters_celltally
            GROUP BY 1
            """,
            {"status": status, "active": Supporter.Status.ACTIVE, "res": resolution},
        )
        return [row for row in cursor.fetchall() if row[1] or row[2]]


@transaction.atomic
def tally_compact() -> tuple[int, int]:
    """Fold the tally's appended rows into one per (cell, status), dropping the zeros;
    (rows before, rows after). Rows appended meanwhile by other transactions stay as
    they are, so the sums never change."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sosedi:celltally'))")
        cursor.execute(
            """
            WITH gone AS (DELETE FROM supporters_celltally RETURNING cell, status, n),
            kept AS (
                INSERT INTO supporters_celltally (cell, status, n)
                SELECT cell, status, sum(n) FROM gone GROUP BY 1, 2 HAVING sum(n) <> 0
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)
            """
        )
        before, after = cursor.fetchone()
    return before, after
