"""Census tables for 1,000,000 persons: DuckDB over the Arrow snapshot, beside the Django ORM.

Usage: uv run python benchmarks/census.py [--persons 1000000]

Fills a fresh SQLite registry with synthetic identities (persons with sex, partial birth dates, deaths,
generation, eligibility, origin settlement of the synthetic gazetteer and country; households of about four),
then times, in the same run:
- the snapshot: reading the registry into the snapshot's Arrow tables and serialising them (``census run``);
- every census table from the snapshot (DuckDB over Arrow; target: under 2 seconds for 1,000,000 persons);
- disclosure control of the public tables (primary and secondary suppression, rounding);
- the baseline: the person tables' counts through the Django ORM (one GROUP BY query per table, the
  age groups, totals and the complete category lists then made in Python), the usual way to do it.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

TARGET_SECONDS = 2.0


def _fill(persons: int) -> None:
    """Synthetic identities straight into the tables (the benchmark's set-up, not a registry path)."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from homeward.gazetteer.models import Settlement

    rng = np.random.default_rng(5)
    settlements = list(Settlement.objects.values_list("id", flat=True))
    weights = rng.zipf(1.3, len(settlements)).astype(float)
    weights /= weights.sum()
    origin = rng.choice(settlements, persons, p=weights)
    birth_year = rng.integers(1920, 2025, persons)
    month = rng.integers(1, 13, persons)
    day = rng.integers(1, 29, persons)
    precision = rng.random(persons)
    generation = np.minimum((2025 - birth_year) // -25 + 4, 4).clip(0, 4)
    countries = np.array(["AZ", "RU", "TR", "GE", "UA", "KZ", "DE", "US"])
    country = countries[rng.choice(8, persons, p=[0.45, 0.25, 0.1, 0.06, 0.05, 0.04, 0.03, 0.02])]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = []
    for i in range(persons):
        y = int(birth_year[i])
        birth = (
            f"{y}"
            if precision[i] < 0.2
            else f"{y}-{month[i]:02d}"
            if precision[i] < 0.3
            else f"{y}-{month[i]:02d}-{day[i]:02d}"
        )
        death = f"{min(y + 70, 2024)}" if y < 1945 and precision[i] < 0.5 else None
        unknown = precision[i] > 0.98
        rows.append((
            i + 1, "" if unknown else ("F" if i % 2 else "M"), None if unknown else birth, death,
            None if precision[i] > 0.97 else int(generation[i]), precision[i] < 0.9,
            None if precision[i] > 0.99 else int(origin[i]), str(country[i]), now, False, "", "", "", "", "", "",
            "", "",
        ))  # fmt: skip
    households = persons // 4
    # Return intentions for about 40 % of the persons (the tables count only eligible adults among them), with
    # the conditions cited, so the intention and condition tables count something.
    listed = ["security", "housing", "services", "livelihoods", "property", "documents"]
    decisions = rng.choice(4, persons, p=[0.5, 0.25, 0.2, 0.05])
    horizons = rng.choice(3, persons)
    cited = rng.random((persons, len(listed))) < 0.3
    intentions = []
    for i in np.flatnonzero(rng.random(persons) < 0.4).tolist():
        decision = ("intends", "undecided", "does_not_intend", "withdrawn")[decisions[i]]
        conditions = (
            json.dumps([c for c, on in zip(listed, cited[i], strict=True) if on]) if decision != "withdrawn" else "[]"
        )
        intentions.append((
            i + 1, decision, ("12_months", "5_years", "someday")[horizons[i]] if decision == "intends" else "",
            "community" if decision == "intends" else "", conditions, now,
        ))  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO registry_person (id, sex, birth_date, death_date, generation, eligible, "
            "origin_settlement_id, current_country, created_at, restricted, given_name, surname, patronymic, "
            "birth_place, current_city, sensitive, given_folded, surname_folded, surname_skeleton) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')",
            rows,
        )
        cursor.executemany(
            "INSERT INTO registry_household (id, external_id, head_id, created_at) VALUES (%s, '', %s, %s)",
            [(h + 1, 4 * h + 1, now) for h in range(households)],
        )
        cursor.executemany(
            "INSERT INTO registry_householdmember (household_id, person_id, relation) VALUES (%s, %s, 'other')",
            [(i // 4 + 1, i + 1) for i in range(households * 4)],
        )
        cursor.executemany(
            "INSERT INTO registry_returnintention (person_id, version, decision, horizon, together, conditions, "
            "conditions_note, needs, sheet_version, channel, recorded_at) "
            "VALUES (%s, 1, %s, %s, %s, %s, '', '[]', 'benchmark', 'interview', %s)",
            intentions,
        )


def _orm_tables(reference_year: int) -> int:
    """The person tables through the ORM: inner cells by GROUP BY, then age groups, totals and the
    complete category lists in Python. Returns the number of cells."""
    from django.db.models import Count, IntegerField
    from django.db.models.functions import Cast, Substr

    from homeward.gazetteer.models import Settlement
    from homeward.registry.models import Person

    living = Person.objects.filter(merged_into__isnull=True, erased_at__isnull=True, restricted=False).filter(
        death_date__isnull=True
    )
    district = dict(Settlement.objects.values_list("id", "historical_admin_unit__code"))
    gid = dict(Settlement.objects.values_list("id", "gid"))
    year = Cast(Substr("birth_date", 1, 4), IntegerField())

    def age(y: int | None) -> str:
        if y is None:
            return "_U"
        a = reference_year - y
        return "85+" if a >= 85 else f"{a // 5 * 5}-{a // 5 * 5 + 4}"

    def gen(g: int | None) -> str:
        return "_U" if g is None else "4+" if g >= 4 else str(g)

    tables: list[Counter[tuple[str, ...]]] = []
    rows: Any
    rows = living.values("origin_settlement_id", "generation", "sex").annotate(n=Count("id"))
    tables.append(
        Counter(
            {
                (district.get(r["origin_settlement_id"], "_U"), gen(r["generation"]), r["sex"] or "_U"): r["n"]
                for r in rows
            }
        )
    )
    rows = living.annotate(y=year).values("origin_settlement_id", "y", "sex").annotate(n=Count("id"))
    c: Counter[tuple[str, ...]] = Counter()
    for r in rows:
        c[(district.get(r["origin_settlement_id"], "_U"), age(r["y"]), r["sex"] or "_U")] += r["n"]
    tables.append(c)
    rows = living.values("origin_settlement_id", "generation", "sex").annotate(n=Count("id"))
    tables.append(
        Counter(
            {(gid.get(r["origin_settlement_id"], "_U"), gen(r["generation"]), r["sex"] or "_U"): r["n"] for r in rows}
        )
    )
    rows = living.annotate(y=year).values("origin_settlement_id", "y").annotate(n=Count("id"))
    c = Counter()
    for r in rows:
        c[(gid.get(r["origin_settlement_id"], "_U"), age(r["y"]))] += r["n"]
    tables.append(c)
    rows = living.values("current_country", "generation").annotate(n=Count("id"))
    tables.append(Counter({(r["current_country"] or "_U", gen(r["generation"])): r["n"] for r in rows}))
    rows = living.values("eligible", "generation").annotate(n=Count("id"))
    tables.append(Counter({("yes" if r["eligible"] else "no", gen(r["generation"])): r["n"] for r in rows}))
    rows = Person.objects.filter(generation=0).values("origin_settlement_id").annotate(n=Count("id"))
    tables.append(Counter({(gid.get(r["origin_settlement_id"], "_U"),): r["n"] for r in rows}))
    cells = 0
    for counts in tables:
        # Totals along every dimension, as the census tables carry them.
        k = len(next(iter(counts))) if counts else 0
        full: Counter[tuple[str, ...]] = Counter()
        for key, n in counts.items():
            for mask in range(1 << k):
                full[tuple("_T" if mask >> i & 1 else v for i, v in enumerate(key))] += n
        cells += len(full)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hw-census-bench-"))
    os.environ.setdefault("HOMEWARD_VAR_DIR", str(work / "var"))
    os.environ.setdefault("HOMEWARD_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeward.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from homeward.core.keys import new_keyring, write_key_file

    var = Path(os.environ["HOMEWARD_VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    if not (var / "keys.json").exists() and not os.environ.get("HOMEWARD_KEYS"):
        write_key_file(var / "keys.json", new_keyring())
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from homeward.audit.services import system_actor
    from homeward.census import selectors
    from homeward.census.engine import snapshot as snap
    from homeward.census.engine.disclosure import Rules, protect
    from homeward.census.engine.tables import compute_tables
    from homeward.census.services import parents_of, public_tables
    from homeward.gazetteer.formats import write_lpf
    from homeward.gazetteer.services import gazetteer_import
    from homeward.synth.gazetteer import generate

    gazetteer_import(
        actor=system_actor("benchmark"), raw=write_lpf(generate(settlements=300)).encode(), filename="g.json"
    )
    started = time.perf_counter()
    _fill(args.persons)
    fill_seconds = time.perf_counter() - started
    reference = dt.date.today()  # everyone is registered by then

    started = time.perf_counter()
    state, _ = selectors.registry_state(reference)
    raw = snap.to_bytes(state)
    snapshot_seconds = time.perf_counter() - started
    state = snap.from_bytes(raw)

    compute_tables(state, ["members_country_generation"])  # DuckDB's first start, not a census cost
    started = time.perf_counter()
    tables = compute_tables(state)
    tables_seconds = time.perf_counter() - started
    cells = sum(t.values.size for t in tables)

    public = [t for t in tables if t.code in public_tables("district")]
    started = time.perf_counter()
    protected, audit = protect(public, Rules(), parents=parents_of(state))
    disclosure_seconds = time.perf_counter() - started

    started = time.perf_counter()
    orm_cells = _orm_tables(reference.year)
    orm_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "benchmark": "census",
        "persons": state.persons.num_rows,
        "households": state.households.num_rows,
        "fill_seconds": round(fill_seconds, 1),
        "snapshot_seconds": round(snapshot_seconds, 2),
        "snapshot_mb": round(len(raw) / 2**20, 1),
        "tables": len(tables),
        "cells": cells,
        "tables_seconds": round(tables_seconds, 3),
        "disclosure_seconds": round(disclosure_seconds, 2),
        "withheld_cells": sum(int((p.published < 0).sum()) for p in protected),
        "linear_programs": audit.linear_programs,
        "baseline": "Django ORM: GROUP BY per person table, totals and age groups in Python (7 of the tables)",
        "baseline_seconds": round(orm_seconds, 2),
        "baseline_cells": orm_cells,
        "speedup": round(orm_seconds / tables_seconds, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "target_seconds": TARGET_SECONDS,
        "meets_target": tables_seconds < TARGET_SECONDS and state.persons.num_rows == args.persons,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
