"""Real-time matching of one new record against a linked registry, and its agreement with batch scoring.

Usage: uv run python benchmarks/realtime_match.py [--records 1000000] [--queries 1000] [--baseline-queries 5]

Loads the synthetic community (every record a person's record in some source and script), builds the
real-time index of the blocking keys with the shipped model, and matches new records: records of the
community itself (taken out of the index first, as a registration not yet in it) in other spellings.
Baseline in the same run: Splink 5's ``predict_between`` (one new record against the registered
records, the same model and blocking rules). Agreement: for a sample of records, the real-time
probabilities must equal the batch ``predict`` probabilities of the same pairs. Prints one JSON line.
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

TARGET_P95_MS = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=5)
    parser.add_argument("--agreement-sample", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import pyarrow as pa

    from homeward.linkage.engine import model as m
    from homeward.linkage.engine import run
    from homeward.linkage.engine.prepare import read_records
    from homeward.linkage.engine.realtime import RealtimeMatcher
    from homeward.synth.community import write_community

    work = Path(tempfile.mkdtemp(prefix="hw-realtime-bench-"))
    paths = write_community(work, records=args.records, seed=23)
    records = read_records(paths["records"])
    model = run.bundled_model()
    rng = random.Random(9)
    rows = records.to_pylist()
    queries = rng.sample(rows, min(args.queries, len(rows)))
    asked = {q["record_id"] for q in queries}
    indexed = pa.Table.from_pylist([r for r in rows if r["record_id"] not in asked], schema=records.schema)

    started = time.perf_counter()
    matcher = RealtimeMatcher(indexed, model)
    build_seconds = time.perf_counter() - started
    times = []
    found = 0
    for query in queries:
        moment = time.perf_counter()
        matches = matcher.match(query)
        times.append(time.perf_counter() - moment)
        found += bool(matches)
    times.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Baseline: Splink's own incremental matching of one record against the registered records.
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    backend = m.Backend.duckdb()
    prepared = m.features(indexed).table
    linker = m.new_linker(backend, prepared, run.for_dialect(model, "duckdb"))
    for column in ("given", "surname", "patronymic", "country"):
        linker.table_management.compute_tf_table(column)
    left = list(linker._input_tables_dict.values())  # the registered records
    baseline_times = []
    for query in queries[: args.baseline_queries]:
        one = m.features(pa.Table.from_pylist([query], schema=records.schema)).table
        frame = backend.api.register(one)
        moment = time.perf_counter()
        linker.inference.predict_between(left, frame, threshold_match_probability=m.REVIEW).as_pandas_dataframe()
        baseline_times.append(time.perf_counter() - moment)

    # Agreement with batch scoring on a sample of records of the index.
    sample_size = min(args.agreement_sample, indexed.num_rows)
    agreement = _agreement(indexed, model, rng, sample_size) if args.records <= 300_000 else None

    def pct(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 2)

    print(
        json.dumps(
            {
                "benchmark": "realtime_match",
                "records": indexed.num_rows,
                "queries": len(queries),
                "index_build_seconds": round(build_seconds, 1),
                "p50_ms": pct(times, 0.5),
                "p95_ms": pct(times, 0.95),
                "max_ms": round(times[-1] * 1000, 2),
                "queries_with_candidates": found,
                "peak_rss_mb": round(peak_mb),
                "baseline": "splink predict_between, one record against the registered records",
                "baseline_queries": len(baseline_times),
                "baseline_mean_ms": round(sum(baseline_times) / max(1, len(baseline_times)) * 1000, 1),
                "agreement_with_batch": agreement,
                "target_p95_ms": TARGET_P95_MS,
                "meets_target": pct(times, 0.95) < TARGET_P95_MS,
                "cores": os.cpu_count(),
            }
        )
    )


def _agreement(indexed, model, rng, size):  # type: ignore[no-untyped-def]
    """Pairs compared, and pairs whose real-time and batch probabilities differ by more than 1e-9."""
    from collections import defaultdict

    import pyarrow as pa

    from homeward.linkage.engine import run
    from homeward.linkage.engine.realtime import RealtimeMatcher

    scored = run.score_records(indexed, model=model, floor=0.01)
    kept = set(run._without_copies(scored)["unique_id"].to_pylist())
    rows = [r for r in indexed.to_pylist() if r["record_id"] in kept]
    matcher = RealtimeMatcher(pa.Table.from_pylist(rows, schema=indexed.schema), model)
    batch = {}
    partners = defaultdict(set)
    for a, b, p in zip(
        scored.pairs["record_id_l"].to_pylist(),
        scored.pairs["record_id_r"].to_pylist(),
        scored.pairs["match_probability"].to_pylist(),
        strict=True,
    ):
        batch[(a, b)] = p
        partners[a].add(b)
        partners[b].add(a)
    compared = differ = missed = extra = 0
    for row in rng.sample(rows, size):
        found = {f.record_id: f.match_probability for f in matcher.match(row, threshold=0.01)}
        mine = row["record_id"]
        missed += len(partners.get(mine, set()) - set(found))
        for other, p in found.items():
            key = (mine, other) if mine < other else (other, mine)
            if key not in batch:
                extra += 1
                continue
            compared += 1
            differ += abs(batch[key] - p) > 1e-9
    return {"pairs_compared": compared, "differ": differ, "missed": missed, "extra": extra}


if __name__ == "__main__":
    main()
