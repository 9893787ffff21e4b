"""Writing census tables: tidy CSV (SDMX-like), JSON and XLSX, byte for byte the same for the same tables.

Every file names its snapshot (content hash) and reference date. Cells are in the tables' fixed order; a
withheld count is empty with the status ``C`` (confidential; a published one has ``A``), as SDMX's
observation confidentiality codes have it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from homeward.census.engine.disclosure import PRIMARY as WITHHELD
from homeward.census.engine.disclosure import PUBLISHED, Protected
from homeward.census.engine.tables import DIMENSIONS, TOTAL, UNIVERSES, UNKNOWN, CountTable

FORMATS = ("csv", "xlsx", "json")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entries carry no real time, so the same tables give the same bytes


@dataclass(frozen=True)
class Meta:
    snapshot_hash: str
    reference_date: str
    public: bool
    threshold: int | None = None
    rounding: int | None = None


@dataclass
class Output:
    """One table as written: exact counts (internal) or protected ones (public)."""

    table: CountTable
    protected: Protected | None = None

    def rows(self) -> list[tuple[tuple[str, ...], int | None, str]]:
        cells = self.table.cells()
        if self.protected is None:
            return [(key, value, PUBLISHED) for key, value in cells]
        # Whether a count was withheld as small or to protect another is not published: it would tell the
        # reader that the count is below the threshold.
        published = self.protected.published.ravel().tolist()
        return [(key, None if p < 0 else int(p), PUBLISHED if p >= 0 else WITHHELD) for (key, _), p in
                zip(cells, published, strict=True)]  # fmt: skip


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell_text(text: str) -> str:
    """A label from the gazetteer that a spreadsheet would run as a formula is written with a leading '."""
    return "'" + text if text.startswith(FORMULA_START) else text


def label(dim: str, code: str, table: CountTable, axis: int) -> str:
    if code == TOTAL:
        return "Total"
    if code == UNKNOWN:
        return "Unknown"
    return table.labels[axis].get(code, code) if table.labels else code


def tidy_csv(outputs: Sequence[Output], meta: Meta) -> bytes:
    """One row per cell of every table: TABLE, UNIVERSE, REF_DATE, each dimension, OBS_VALUE, OBS_STATUS."""
    dims = sorted({d for o in outputs for d in o.table.definition.dims})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["TABLE", "UNIVERSE", "REF_DATE", *[d.upper() for d in dims], "OBS_VALUE", "OBS_STATUS"]
    header += ["POPULATION", "POPULATION_YEAR", "SNAPSHOT"]
    writer.writerow(header)
    for o in outputs:
        t = o.table
        for key, value, status in o.rows():
            by_dim = dict(zip(t.definition.dims, key, strict=True))
            pop = t.population.get(key[0], (None, None)) if t.definition.with_population else (None, None)
            writer.writerow([
                t.code, t.definition.universe, meta.reference_date, *[by_dim.get(d, "") for d in dims],
                "" if value is None else value, status, "" if pop[0] is None else pop[0],
                "" if pop[1] is None else pop[1], meta.snapshot_hash,
            ])  # fmt: skip
    return out.getvalue().encode("utf-8")


def codelists_csv(outputs: Sequence[Output]) -> bytes:
    """DIMENSION, CODE, LABEL for every category used."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["DIMENSION", "CODE", "LABEL"])
    seen: set[tuple[str, str]] = set()
    for o in outputs:
        for axis, dim in enumerate(o.table.definition.dims):
            for code in o.table.axis(axis):
                if (dim, code) not in seen:
                    seen.add((dim, code))
                    writer.writerow([dim.upper(), code, _cell_text(label(dim, code, o.table, axis))])
    return out.getvalue().encode("utf-8")


def as_json(outputs: Sequence[Output], meta: Meta) -> bytes:
    doc = {
        "snapshot": meta.snapshot_hash,
        "reference_date": meta.reference_date,
        "public": meta.public,
        "disclosure_control": {"threshold": meta.threshold, "rounding": meta.rounding} if meta.public else None,
        "tables": [
            {
                "code": o.table.code,
                "title": o.table.definition.title,
                "universe": o.table.definition.universe,
                "universe_definition": UNIVERSES[o.table.definition.universe].definition,
                "dimensions": [
                    {"code": d, "title": DIMENSIONS[d].title, "categories": o.table.axis(i)}
                    for i, d in enumerate(o.table.definition.dims)
                ],
                "withheld": o.protected.withheld if o.protected is not None else "",
                "cells": [[*key, value, status] for key, value, status in o.rows()],
                **(
                    {"population": {k: list(v) for k, v in o.table.population.items()}}
                    if o.table.definition.with_population
                    else {}
                ),
            }
            for o in outputs
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")


def as_xlsx(outputs: Sequence[Output], meta: Meta) -> bytes:
    """One sheet per table (categories down, counts across the last dimension is not attempted: one row per
    cell keeps every table readable and filterable), plus a sheet describing the release."""
    from openpyxl import Workbook

    book = Workbook()
    about = book.active
    about.title = "About"
    about.append(["Snapshot", meta.snapshot_hash])
    about.append(["Reference date", meta.reference_date])
    about.append(["Public release", "yes" if meta.public else "no (exact counts: internal use only)"])
    if meta.public:
        about.append(
            ["Counts below", meta.threshold, "are withheld (status C), with other counts that would give them away"]
        )
        about.append(["Counts rounded to a multiple of", meta.rounding])
    for o in outputs:
        sheet = book.create_sheet(o.table.code[:31])
        sheet.append([o.table.definition.title])
        if o.protected is not None and o.protected.withheld:
            sheet.append(["Withheld:", o.protected.withheld])
        sheet.append([*[DIMENSIONS[d].title for d in o.table.definition.dims], "Count", "Status"])
        for key, value, status in o.rows():
            sheet.append([
                *[label(d, k, o.table, i) for i, (d, k) in enumerate(zip(o.table.definition.dims, key, strict=True))],
                value, status,
            ])  # fmt: skip
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    cell.data_type = "s"  # a label that looks like a formula stays text
    book.properties.creator = "Homeward"
    import datetime as dt

    fixed = dt.datetime(*FIXED_TIME)
    book.properties.created = fixed
    book.properties.modified = fixed
    raw = io.BytesIO()
    book.save(raw)
    return _zip_without_times(raw.getvalue())


def _zip_without_times(raw: bytes) -> bytes:
    """The same archive with fixed entry times and order (openpyxl stamps the time of writing)."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_core_times(data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    return out.getvalue()


def _fixed_core_times(data: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)


def render(outputs: Sequence[Output], meta: Meta, fmt: str, stem: str) -> dict[str, bytes]:
    """The files of one format by name, the tables' own file first (CSV adds the code lists)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "csv":
        return {f"{stem}.csv": tidy_csv(outputs, meta), f"{stem}-codelists.csv": codelists_csv(outputs)}
    if fmt == "json":
        return {f"{stem}.json": as_json(outputs, meta)}
    return {f"{stem}.xlsx": as_xlsx(outputs, meta)}


def write(outputs: Sequence[Output], meta: Meta, fmt: str, out_dir: Path) -> list[Path]:
    """Write the tables in one format into ``out_dir``; returns the files written."""
    files = render(outputs, meta, fmt, "census-public" if meta.public else "census-internal")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = out_dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written
