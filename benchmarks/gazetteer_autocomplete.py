"""Gazetteer autocomplete latency on 5,000 settlements with 30,000 names (target: p95 under 50 ms).

Builds a fresh SQLite database in a temporary folder, imports a synthetic gazetteer through the real
import service, then times 1,000 autocomplete requests through the JSON API (token check, search,
serialisation), typed as people type: a prefix of one of the settlement's names in any of its scripts
and renderings. Baseline, in the same run and on the same queries: the plain Django search a
gazetteer page would otherwise do, ``toponym__icontains`` (which also cannot match across scripts).

Prints one JSON line. Usage: uv run python benchmarks/gazetteer_autocomplete.py [--queries N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settlements", type=int, default=5000)
    parser.add_argument("--names", type=int, default=30000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="homeward-bench-"))
    os.environ.update({"HOMEWARD_VAR_DIR": str(var), "HOMEWARD_ENV": "development",
                       "DJANGO_SETTINGS_MODULE": "homeward.settings"})  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    from homeward.core.keys import new_keyring

    os.environ["HOMEWARD_KEYS"] = new_keyring().to_json()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from homeward.access.services import api_token_create, staff_create
    from homeward.audit.services import system_actor
    from homeward.gazetteer.formats import NameRec, write_lpf
    from homeward.gazetteer.models import PlaceName, Settlement
    from homeward.gazetteer.selectors import settlement_search
    from homeward.synth.gazetteer import generate, russian

    call_command("migrate", verbosity=0)
    actor = system_actor("benchmark")
    gaz = generate(settlements=args.settlements, seed=2026)
    rng = random.Random(5)
    total = sum(len(p.names) for p in gaz.places)
    while total < args.names:  # top up with colloquial names to the target count
        place = rng.choice(gaz.places)
        place.names.append(
            NameRec(f"{place.title} {rng.choice(['yurdu', 'obası', 'məhləsi'])}", "az-Latn", "colloquial")
        )
        total += 1
    raw = write_lpf(gaz).encode()
    from homeward.gazetteer.services import gazetteer_import

    started = time.perf_counter()
    gazetteer_import(actor=actor, raw=raw)
    import_seconds = time.perf_counter() - started
    user = staff_create(actor=actor, username="bench", roles=["analyst"])
    _token, secret = api_token_create(actor=actor, user_id=user.pk, name="bench")
    client = Client(headers={"Authorization": f"Bearer {secret}"})

    names = list(PlaceName.objects.values_list("settlement_id", "toponym"))
    queries = []
    for _ in range(args.queries):
        settlement_id, toponym = rng.choice(names)
        queries.append((settlement_id, toponym[: rng.randint(3, max(3, len(toponym)))]))

    def timed(run: object) -> tuple[list[float], int]:
        times, found = [], 0
        for settlement_id, q in queries:
            t0 = time.perf_counter()
            ids = run(q)  # type: ignore[operator]
            times.append((time.perf_counter() - t0) * 1000)
            found += settlement_id in ids
        return times, found

    def api(q: str) -> list[int]:
        response = client.get("/api/gazetteer/search", {"q": q, "limit": 10})
        assert response.status_code == 200, response.content
        return [hit["settlement_id"] for hit in response.json()]

    def selector(q: str) -> list[int]:
        return [h.settlement_id for h in settlement_search(q, limit=10)]

    def baseline(q: str) -> list[int]:
        return list(
            PlaceName.objects.filter(toponym__icontains=q).values_list("settlement_id", flat=True).distinct()[:10]
        )

    api(queries[0][1])  # warm the connection and caches once for each
    baseline(queries[0][1])
    api_ms, api_found = timed(api)
    sel_ms, _ = timed(selector)
    base_ms, base_found = timed(baseline)

    # Cross-script recall: each place's Azerbaijani name written in a script or rendering that is stored
    # for no settlement of that name: typed without Azerbaijani letters (ə -> e, ş -> s, ...), and in
    # Russian Cyrillic where only the Soviet-era name has a Russian form. Both searches get the same queries.
    web = str.maketrans("əƏşŞçÇğĞıİöÖüÜ", "eEsScCgGiIoOuU")
    stored = {(p.gid, n.toponym) for p in gaz.places for n in p.names}
    typed = [(p, p.title.translate(web)) for p in gaz.places]
    typed = [(p, q) for p, q in typed if q != p.title and (p.gid, q) not in stored][:1000]
    cyrillic = [(p, russian(p.title)) for p in gaz.places]
    cyrillic = [(p, q) for p, q in cyrillic if (p.gid, q) not in stored][:1000]
    gid_to_id = dict(Settlement.objects.values_list("gid", "pk"))

    def recall(search: object, pairs: list[tuple[object, str]]) -> float:
        found = sum(gid_to_id[p.gid] in search(q) for p, q in pairs)  # type: ignore[attr-defined,operator]
        return round(found / max(1, len(pairs)), 3)

    # Whole names typed exactly as recorded, among names that only one settlement bears.
    owners: dict[str, set[int]] = {}
    for sid, toponym in names:
        owners.setdefault(toponym, set()).add(sid)
    unique = [(sid, t) for sid, t in names if len(owners[t]) == 1]
    whole = rng.sample(unique, min(1000, len(unique)))
    whole_found = sum(sid in selector(t)[:3] for sid, t in whole)

    result = {
        "benchmark": "gazetteer_autocomplete",
        "settlements": len(gaz.places),
        "names": PlaceName.objects.count(),
        "queries": len(queries),
        "import_seconds": round(import_seconds, 2),
        "api_ms": {"p50": round(statistics.median(api_ms), 2), "p95": round(percentile(api_ms, 0.95), 2),
                   "p99": round(percentile(api_ms, 0.99), 2), "max": round(max(api_ms), 2)},
        "search_ms": {"p50": round(statistics.median(sel_ms), 2), "p95": round(percentile(sel_ms, 0.95), 2)},
        "baseline_icontains_ms": {"p50": round(statistics.median(base_ms), 2),
                                  "p95": round(percentile(base_ms, 0.95), 2)},
        "target_p95_ms": 50,
        "meets_target": percentile(api_ms, 0.95) < 50,
        "api_found_target_in_top10": round(api_found / len(queries), 3),
        "baseline_found_target_in_top10": round(base_found / len(queries), 3),
        "whole_name_found_in_top3": round(whole_found / len(whole), 3),
        "ascii_typed_queries": len(typed),
        "ascii_typed_recall": recall(selector, typed),
        "baseline_ascii_typed_recall": recall(baseline, typed),
        "cyrillic_queries": len(cyrillic),
        "cyrillic_recall": recall(selector, cyrillic),
        "baseline_cyrillic_recall": recall(baseline, cyrillic),
        "speedup_p95_vs_baseline": round(percentile(base_ms, 0.95) / percentile(sel_ms, 0.95), 2),
    }  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
