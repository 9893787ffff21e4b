"""Eligibility and generation for a whole registry: the service against a recursive SQL query (baseline).

Usage: uv run python benchmarks/eligibility.py [--persons 1000000]

Builds a family forest of N persons in four generations (the displaced, then children with two parents
each from the generation above, some spouses from outside the community), with displacement records for
most of the first generation, straight into a fresh SQLite database; then times
`eligibility_recompute` (all persons, writing every change), a second run (nothing changes), and an
incremental update after one new link; and, as the baseline, the usual SQL answer: a recursive query
that walks parent links from the displaced. Both results are compared. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hw-eligibility-bench-"))
    os.environ.setdefault("HOMEWARD_VAR_DIR", str(work))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeward.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from homeward.core.keys import new_keyring, write_key_file

    if not os.environ.get("HOMEWARD_KEYS"):
        write_key_file(work / "keys.json", new_keyring(), overwrite=True)
        os.environ["HOMEWARD_KEY_FILE"] = str(work / "keys.json")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from homeward.audit.services import system_actor
    from homeward.core.partialdate import PartialDate
    from homeward.gazetteer.models import Settlement
    from homeward.registry.models import Displacement, Kinship, Person
    from homeward.registry.services.bulk import db_datetime, insert_rows
    from homeward.registry.services.persons import eligibility_recompute, eligibility_update, event_save

    actor = system_actor("benchmark")
    rng = random.Random(args.seed)
    n = args.persons
    sizes = [int(n * 0.15), int(n * 0.25), int(n * 0.30)]
    sizes.append(n - sum(sizes))
    now = db_datetime(timezone.now())
    settlement = Settlement.objects.create(gid="bench:1", title="Bench")
    event = event_save(actor=actor, code="wave", label="wave", start=PartialDate(1950), end=None, qualifies=True)
    layers: list[range] = []
    start = 1
    for size in sizes:
        layers.append(range(start, start + size))
        start += size
    links: list[tuple[str, int, int, bool, str, object]] = []
    for depth in range(1, 4):
        above = layers[depth - 1]
        for child in layers[depth]:
            if rng.random() < 0.1:
                continue  # someone who married in: no parents in the community
            father = rng.choice(above)
            mother = rng.choice(above)
            links.append(("parent", father, child, False, "", now))
            if mother != father:
                links.append(("parent", mother, child, False, "", now))
    displaced = [p for p in layers[0] if rng.random() < 0.8]
    with transaction.atomic():
        insert_rows(
            Person,
            ("id", "given_name", "surname", "patronymic", "sex", "birth_place", "current_country", "current_city",
             "sensitive", "given_folded", "surname_folded", "surname_skeleton", "eligible", "restricted",
             "created_at"),
            [(i, "", "", "", "", "", "", "", "", "", "", "", False, False, now) for i in range(1, n + 1)],
        )  # fmt: skip
        insert_rows(Kinship, ("kind", "parent_id", "child_id", "adoptive", "note", "created_at"), links)
        insert_rows(
            Displacement,
            ("person_id", "settlement_id", "origin_text", "date_from", "event_id", "evidence", "created_at"),
            [(p, settlement.pk, "", "1950", event.pk, "bench", now) for p in displaced],
        )
    build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.perf_counter()
    first = eligibility_recompute(actor=actor)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = eligibility_recompute(actor=actor)
    second_seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Someone who married in is found to descend from a displaced person: they and their descendants change.
    parent = displaced[0]
    child = Person.objects.filter(pk__gte=layers[1][0], pk__lte=layers[1][-1], generation__isnull=True).values_list(
        "id", flat=True
    )[0]
    started = time.perf_counter()
    with transaction.atomic():
        Kinship.objects.get_or_create(kind="parent", parent_id=parent, child_id=child)
    changed = eligibility_update(actor=actor, person_ids=[child])
    update_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE descent(person, depth) AS (
                   SELECT DISTINCT person_id, 0 FROM registry_displacement
                   UNION
                   SELECT k.child_id, d.depth + 1 FROM registry_kinship k JOIN descent d ON k.parent_id = d.person
                   WHERE k.kind = 'parent'
               )
               SELECT person, MIN(depth) FROM descent GROUP BY person"""
        )
        baseline = dict(cursor.fetchall())
    baseline_seconds = time.perf_counter() - started
    ours = dict(Person.objects.filter(generation__isnull=False).values_list("id", "generation"))
    print(
        json.dumps(
            {
                "benchmark": "eligibility",
                "database": connection.vendor,
                "persons": n,
                "parent_links": len(links),
                "displaced": len(displaced),
                "eligible": first["eligible"],
                "full_recompute_seconds": round(first_seconds, 2),
                "changed_first_run": first["changed"],
                "second_run_seconds": round(second_seconds, 2),
                "changed_second_run": second["changed"],
                "incremental_update_seconds": round(update_seconds, 3),
                "incremental_changed": changed,
                "peak_rss_mb": round(max(peak, build_peak), 1),
                "baseline": "recursive SQL query (WITH RECURSIVE) over parent links, read only, no writes",
                "baseline_seconds": round(baseline_seconds, 2),
                "same_result_as_baseline": baseline == ours,
            }
        )
    )


if __name__ == "__main__":
    main()
