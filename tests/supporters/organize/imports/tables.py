"""Row counts of every supporters_* table, to show that something wrote nothing."""

from django.db import connection


def table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename LIKE 'supporters\\_%' ORDER BY tablename"
        )
        tables = [t for (t,) in cursor.fetchall()]
        cursor.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))
        return dict(cursor.fetchall())
