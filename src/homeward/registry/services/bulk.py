"""Fast writes for imports: id allocation and row insertion, by COPY on PostgreSQL and executemany on SQLite.

Only the import service uses this; every call runs inside its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from django.db import connection, models


@contextmanager
def foreign_keys_checked_by_caller() -> Iterator[None]:
    """On SQLite, switch off foreign-key enforcement for a bulk write whose references the caller builds
    itself (ids it has just allocated): a row pointing at one inserted a moment later otherwise makes
    SQLite search unindexed referencing columns for every row. The switch only works outside a
    transaction. PostgreSQL checks as usual."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = ON")


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def db_datetime(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve ``count`` primary keys, so rows can be inserted (and referenced) without a round trip each."""
    if count == 0:
        return []
    name = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [name, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite runs one writer at a time and this transaction holds the write lock (IMMEDIATE).
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table(model)}")  # noqa: S608 (a model's own table)
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [name])
        row = cursor.fetchone()
        start = max(top, row[0] if row else 0) + 1
        return list(range(start, start + count))


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert plain rows (no conflict expected: the caller checked)."""
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table(model)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table(model)} ({cols}) VALUES ({marks})", cast(Any, rows))  # noqa: S608


def insert_ignoring_duplicates(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows, skipping those that break a unique constraint (idempotent re-runs)."""
    if not rows:
        return
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table(model)} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
            rows,
        )


def select_in(sql: str, head: Sequence[Any], values: Sequence[Any], tail: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` whose ``{in}`` marks an ``IN (...)`` list, in slices small enough for SQLite."""
    out: list[tuple[Any, ...]] = []
    if not values:
        return out
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql.replace("IN {in}", "= ANY(%s)"), [*head, list(values), *tail])
            return list(cursor.fetchall())
        for i in range(0, len(values), 5000):
            part = values[i : i + 5000]
            cursor.execute(sql.replace("{in}", "(" + ", ".join(["%s"] * len(part)) + ")"), [*head, *part, *tail])
            out.extend(cursor.fetchall())
    return out
