"""Registry import throughput: a synthetic community's person records file into a fresh database.

Usage: uv run python benchmarks/import_throughput.py [--records 1000000] [--database sqlite|postgres]

Writes the synthetic file (all sources under one, so every family link resolves), imports it with the
real service (`homeward import` does the same) into a fresh database, and compares in the same run with
the baseline: Django's `bulk_create` of the same rows' source records (a sample), the usual way to
load a table. Then it re-imports the file (must add nothing) and recomputes eligibility on the result.
For PostgreSQL, DATABASE_URL must point at an empty database. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

TARGET_ROWS_PER_SECOND = 50_000


def _write_file(path: Path, records: int) -> None:
    from homeward.synth.community import RECORD_FIELDS, generate_community

    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(RECORD_FIELDS)
        for row, _person in generate_community(records=records, seed=11):
            row["source"] = "bench"
            writer.writerow([row[f] for f in RECORD_FIELDS])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline-sample", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hw-import-bench-"))
    os.environ.setdefault("HOMEWARD_VAR_DIR", str(work / "var"))
    os.environ.setdefault("HOMEWARD_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeward.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    data = work / "records.csv"
    _write_file(data, args.records)

    from homeward.core.keys import new_keyring, write_key_file

    var = Path(os.environ["HOMEWARD_VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    key_file = var / "keys.json"
    if not key_file.exists() and not os.environ.get("HOMEWARD_KEYS"):
        write_key_file(key_file, new_keyring())
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from homeward.audit.services import system_actor
    from homeward.core.partialdate import PartialDate
    from homeward.gazetteer.formats import write_lpf
    from homeward.gazetteer.services import gazetteer_import
    from homeward.registry.models import ImportBatch, Person, Source, SourceRecord
    from homeward.registry.services.imports import registry_import
    from homeward.registry.services.persons import eligibility_recompute, event_save
    from homeward.synth.community import WAVES
    from homeward.synth.gazetteer import generate

    actor = system_actor("benchmark")
    gazetteer_import(actor=actor, raw=write_lpf(generate(settlements=300)).encode(), filename="g.json")
    for code, (start, end) in WAVES.items():
        event_save(actor=actor, code=code, label=code, start=PartialDate(start), end=PartialDate(end), qualifies=True)

    started = time.perf_counter()
    outcome = registry_import(actor=actor, source_code="bench", path=data)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    records_before = SourceRecord.objects.count()
    again = time.perf_counter()
    repeat = registry_import(actor=actor, source_code="bench", path=data)
    repeat_seconds = time.perf_counter() - again
    added_again = SourceRecord.objects.count() - records_before

    started = time.perf_counter()
    counts = eligibility_recompute(actor=actor)
    eligibility_seconds = time.perf_counter() - started

    # Baseline: the ORM's bulk_create of the same kind of rows (source records only, no validation).
    sample = min(args.baseline_sample, args.records)
    source = Source.objects.create(code="baseline", name="baseline")
    batch = ImportBatch.objects.create(source=source, filename="baseline", sha256="0" * 64, format="csv")
    with open(data, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [next(reader) for _ in range(sample)]
    started = time.perf_counter()
    with transaction.atomic():
        SourceRecord.objects.bulk_create(
            (
                SourceRecord(
                    source=source, batch=batch, external_id=r["record_id"], content_hash=str(i), row_number=i,
                    raw=r, given_name=r["given_name"], surname=r["surname"], patronymic=r["patronymic"],
                    sex=r["sex"], birth_date=r["birth_date"] or None, current_country=r["current_country"],
                )
                for i, r in enumerate(rows)
            ),
            batch_size=2000,
        )  # fmt: skip
    baseline_seconds = time.perf_counter() - started
    rate = outcome.rows / seconds
    print(
        json.dumps(
            {
                "benchmark": "import_throughput",
                "database": connection.vendor,
                "rows": outcome.rows,
                "seconds": round(seconds, 2),
                "rows_per_second": round(rate),
                "created": outcome.created,
                "held": outcome.held,
                "family_links": outcome.links,
                "peak_rss_mb": round(peak_mb, 1),
                "reimport_added": added_again,
                "reimport_recognised": repeat.already_imported,
                "reimport_seconds": round(repeat_seconds, 2),
                "eligibility_seconds": round(eligibility_seconds, 2),
                "persons": Person.objects.count(),
                "eligible": counts["eligible"],
                "baseline": "django bulk_create of source records only",
                "baseline_rows": sample,
                "baseline_rows_per_second": round(sample / baseline_seconds),
                "target_rows_per_second": TARGET_ROWS_PER_SECOND,
                "meets_target": rate >= TARGET_ROWS_PER_SECOND,
            }
        )
    )


if __name__ == "__main__":
    main()
