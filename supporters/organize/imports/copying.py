"""Writing an import's new rows with COPY: tens of thousands of people, their consent
records and tags, without an INSERT whose parameters the driver quotes one by one (that
took longer than PostgreSQL's own work, the indexes included)."""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model


def rows_copy(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY rows (values in the order of `columns`, the fields' attnames) into the model's
    table, in the current transaction. Constraints and foreign keys hold as for INSERT: a
    violation raises Django's IntegrityError and the transaction rolls back."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    sql = f"COPY {table} ({names}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """`count` ids from the sequence of the model's identity primary key, for rows written
    by COPY that other rows refer to (a consent record's source)."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), model._meta.pk.column, count],
        )
        return [i for (i,) in cursor.fetchall()]
