"""A census snapshot as bytes: four Arrow tables in one IPC stream, and its content hash. No Django.

The snapshot holds no names, contact details or documents: a pseudonymous number per person and the
attributes the tables count. Rows are sorted and the schema fixed, so the same registry state gives the
same bytes, and the hash names the content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pyarrow as pa
import pyarrow.compute as pc

from homeward.census.engine.tables import Snapshot

SCHEMAS = {
    "persons": pa.schema([
        ("pid", pa.int64()),
        ("sex", pa.string()),            # F, M, X or null
        ("birth", pa.string()),          # partial date YYYY[-MM[-DD]] or null
        ("death", pa.string()),
        ("generation", pa.int16()),      # 0 = displaced themselves; null = unknown
        ("eligible", pa.bool_()),
        ("settlement", pa.int64()),      # origin settlement (settlements.sid) or null
        ("country", pa.string()),        # ISO 3166-1 alpha-2 or null
        ("registered", pa.string()),     # YYYY-MM the first record arrived
        ("source_kind", pa.string()),
        # The person's latest return intention (their own record, versioned in the registry), or null.
        ("intention", pa.string()),      # intends, undecided, does_not_intend, withdrawn
        ("horizon", pa.string()),        # 12_months, 5_years, someday
        ("together", pa.string()),       # community, own, elsewhere
        ("destination", pa.int64()),     # settlements.sid when elsewhere
        ("conditions", pa.string()),     # conditions cited, sorted and comma-joined; "" none; null unknown
    ]),
    "households": pa.schema([("hid", pa.int64()), ("head", pa.int64())]),
    "members": pa.schema([("hid", pa.int64()), ("pid", pa.int64())]),
    "settlements": pa.schema([
        ("sid", pa.int64()),
        ("gid", pa.string()),
        ("title", pa.string()),
        ("district", pa.string()),
        ("district_name", pa.string()),
        ("population", pa.int64()),       # the pre-displacement population (gazetteer), or null
        ("population_year", pa.int64()),
    ]),
}  # fmt: skip
# Columns added after the first snapshots: a table without them (an older snapshot, a test's) reads as null.
OPTIONAL = {"persons": {"intention": pa.string(), "horizon": pa.string(), "together": pa.string(),
                        "destination": pa.int64(), "conditions": pa.string()}}  # fmt: skip
SORT_KEYS = {"persons": ["pid"], "households": ["hid"], "members": ["hid", "pid"], "settlements": ["sid"]}


class SnapshotError(ValueError):
    pass


def normalise(name: str, table: pa.Table) -> pa.Table:
    """The table in the snapshot's schema and row order."""
    schema = SCHEMAS[name]
    for column, kind in OPTIONAL.get(name, {}).items():
        if column not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, kind))
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise SnapshotError(f"{name}: missing columns {', '.join(missing)}")
    table = table.select(schema.names).cast(schema)
    if table.num_rows:
        order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in SORT_KEYS[name]])
        table = table.take(order)
    return table.combine_chunks()


def to_bytes(snapshot: Snapshot) -> bytes:
    """One Arrow IPC stream per table, prefixed by a small JSON header with the reference date."""
    out = io.BytesIO()
    header = json.dumps({"format": "homeward-census-snapshot", "version": 1,
                         "reference_date": snapshot.reference_date.isoformat()}, sort_keys=True).encode()  # fmt: skip
    out.write(len(header).to_bytes(4, "big") + header)
    for name in SCHEMAS:
        table = normalise(name, getattr(snapshot, name))
        buffer = io.BytesIO()
        with pa.ipc.new_stream(buffer, table.schema) as writer:
            writer.write_table(table)
        data = buffer.getvalue()
        out.write(len(data).to_bytes(8, "big") + data)
    return out.getvalue()


def from_bytes(raw: bytes) -> Snapshot:
    try:
        size = int.from_bytes(raw[:4], "big")
        header = json.loads(raw[4 : 4 + size])
        if header.get("format") != "homeward-census-snapshot":
            raise SnapshotError("not a census snapshot")
        position = 4 + size
        tables = {}
        for name in SCHEMAS:
            length = int.from_bytes(raw[position : position + 8], "big")
            position += 8
            tables[name] = pa.ipc.open_stream(raw[position : position + length]).read_all()
            position += length
        return Snapshot(reference_date=dt.date.fromisoformat(header["reference_date"]), **tables)
    except (ValueError, KeyError, TypeError, OSError, pa.ArrowInvalid) as exc:
        raise SnapshotError(f"the snapshot file cannot be read: {exc}") from exc


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
