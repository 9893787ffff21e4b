"""A whole linkage: person records in, clusters (and scored pairs) out. No Django, no database.

Used by ``homeward link-file`` and, with the registry's records, by the linkage job. Steps: prepare the
compared columns, train the model without labels (or load a saved one), score the candidate pairs, and
cluster the pairs at the threshold. Too few records to train a model on (or training that cannot find
enough agreeing pairs) fall back to the model that ships with Homeward, and the result says so.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from homeward.linkage.engine import model as m
from homeward.linkage.engine.cluster import cluster_pairs
from homeward.linkage.engine.family import with_family
from homeward.linkage.engine.prepare import LinkageInputError, Prepared, Unusable, read_records

log = logging.getLogger("homeward.linkage")

# Below this many records unsupervised training has too few agreeing pairs to learn from.
MIN_TRAINING_RECORDS = 2_000
# Pairs scored at least this are kept for clustering (see ``cluster.cluster_pairs``).
CLUSTER_FLOOR = 0.01
Step = Callable[[str, float], None]  # a message and the fraction of the work done


def bundled_model() -> dict[str, Any]:
    """The model trained on the synthetic community (``homeward link-file --save-model``), shipped."""
    text = resources.files("homeward.linkage.engine").joinpath("default_model.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


class LinkageOutputError(ValueError):
    """An output that cannot be written: checked before any work, so that nothing is half-written."""


def load_model(path: Path) -> dict[str, Any]:
    """A saved model (``--save-model``), checked: a JSON object with Splink's comparisons."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LinkageInputError(f"{path}: the model cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise LinkageInputError(f"{path}: the model is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise LinkageInputError(f"{path}: line {exc.lineno}: the model is not JSON ({exc.msg})") from exc
    comparisons = data.get("comparisons") if isinstance(data, dict) else None
    if not isinstance(comparisons, list) or not comparisons:
        raise LinkageInputError(
            f"{path}: not a linkage model (a JSON object with comparisons, as --save-model writes it)"
        )
    return dict(data)


# The names Splink's backends give its string similarity functions (other functions are spelt alike).
_FUNCTIONS = {
    "duckdb": {"jaro_winkler": "jaro_winkler_similarity", "jaro": "jaro_similarity"},
    "spark": {"jaro_winkler": "jaro_winkler", "jaro": "jaro_sim"},
}


def for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A saved model with its SQL rewritten for ``dialect`` ("duckdb" or "spark"), and this version's blocking.

    Splink takes a saved model's conditions as written, whatever backend it is loaded into: a model saved on
    DuckDB quotes its columns with double quotes, which Spark reads as string literals (every level would
    silently compare two constants), and names its similarity functions differently. Blocking is not learned,
    and its rules name key columns by position (``block_7``): a model saved by an earlier version would
    otherwise block on other keys than it says, so the rules are always today's.
    """
    converted = json.loads(json.dumps(model))
    converted["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule["blocking_rule"], "sql_dialect": dialect}
        for rule in m.settings().create_settings_dict("duckdb")["blocking_rules_to_generate_predictions"]
    ]
    source = str(model.get("sql_dialect") or "duckdb")
    converted["sql_dialect"] = dialect
    for comparison in converted.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            level["sql_condition"] = _rewrite(level["sql_condition"], source, dialect)
    for rule in converted["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = _rewrite(rule["blocking_rule"], "duckdb", dialect)
    return dict(converted)


def _rewrite(sql: str, source: str, dialect: str) -> str:
    if source == dialect or sql.strip().upper() == "ELSE":
        return sql
    import sqlglot

    for key, name in _FUNCTIONS.get(source, {}).items():
        sql = re.sub(rf"\b{name}\s*\(", f"__homeward_{key}__(", sql, flags=re.IGNORECASE)
    sql = str(sqlglot.transpile(sql, read=source, write=dialect)[0])
    for key, name in _FUNCTIONS.get(dialect, {}).items():
        sql = re.sub(rf"__homeward_{key}__\(", f"{name}(", sql, flags=re.IGNORECASE)
    return sql


def _short(exc: Exception) -> str:
    """An exception's first line, at most 200 characters (Splink's messages run to paragraphs)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


@dataclass
class LinkResult:
    records: int
    clusters: pa.Table  # record_id, cluster_id: every input record once
    pairs: pa.Table  # record_id_l, record_id_r, match_probability, match_weight (at or above pair_threshold)
    model: dict[str, Any]
    trained: bool
    threshold: float
    notices: list[str] = field(default_factory=list)
    unusable: Unusable = field(default_factory=Unusable)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def cluster_count(self) -> int:
        return len(set(self.clusters["cluster_id"].to_pylist())) if self.records else 0


@dataclass
class Scored:
    """Candidate pairs of a set of records, scored: what clustering and the review queue start from."""

    prepared: Prepared
    pairs: pa.Table  # record_id_l, record_id_r, match_probability, match_weight (at or above the floor)
    must: list[tuple[str, str]]  # exact copies of a record, joined to it without scoring
    model: dict[str, Any]
    trained: bool
    notices: list[str]
    seconds: dict[str, float]
    backend: m.Backend | None = None
    linker: Any = None

    @property
    def unusable(self) -> Unusable:
        return self.prepared.unusable


def score_records(
    records: pa.Table,
    *,
    backend: m.Backend | None = None,
    model: dict[str, Any] | None = None,
    floor: float = CLUSTER_FLOOR,
    step: Step | None = None,
    seed: int = 42,
) -> Scored:
    """Prepare, train (or load ``model``), and score the candidate pairs at or above ``floor``."""
    say = step or (lambda message, done: None)
    seconds: dict[str, float] = {}
    notices: list[str] = []
    started = time.perf_counter()
    say("preparing names, dates and places", 0.0)
    prepared = m.features(records)
    seconds["prepare"] = time.perf_counter() - started
    count = prepared.records
    if count == 0:
        # The model that would have been used, so that a saved model is always one that loads.
        used = model if model is not None else bundled_model()
        return Scored(prepared, _no_pairs(), [], used, False, ["the file has no records"], seconds)
    # Exact copies (every compared value the same, names and a birth year among them) are one record to
    # the model: scored once, joined to it afterwards. 100,000 copies of one person cost one record.
    table, must = _collapse_copies(prepared.table)
    if must:
        notices.append(f"{len(must):,} records are exact copies of another record and were joined to it")
    backend = backend or m.Backend.duckdb()
    dialect = "spark" if backend.is_spark else "duckdb"
    trained = False
    if model is None and table.num_rows < MIN_TRAINING_RECORDS:
        model = bundled_model()
        notices.append(
            f"{table.num_rows:,} records are too few to train a model on (at least {MIN_TRAINING_RECORDS:,}): "
            "the model that ships with Homeward was used"
        )
    linker = m.new_linker(backend, table, None if model is None else for_dialect(model, dialect))
    if model is None:
        moment = time.perf_counter()
        try:
            present = {c for c in table.column_names if table[c].null_count < table.num_rows}
            m.train(linker, records=table.num_rows, seed=seed, step=lambda text: say(text, 0.15), present=present)
            trained = True
        except Exception as exc:  # Splink raises plain exceptions when data cannot train a model
            log.warning("training failed: %s", exc)
            notices.append(
                f"the model could not be trained on these records ({_short(exc)}): the model that ships with "
                "Homeward was used"
            )
            linker = m.new_linker(backend, table, for_dialect(bundled_model(), dialect))
        seconds["train"] = time.perf_counter() - moment
    moment = time.perf_counter()
    say("scoring candidate pairs", 0.5)
    scored = m.predict(linker, records=table.num_rows, threshold=floor)
    pairs = _frame(
        backend, scored, "unique_id_l AS record_id_l, unique_id_r AS record_id_r, match_probability, match_weight"
    )
    seconds["predict"] = time.perf_counter() - moment
    model_used = m.model_json(linker)
    # The pairs are out: the database's copies of the records, their term frequencies and the scored pairs
    # would only hold memory through the clustering (evidence for a reviewer is scored afresh).
    linker.table_management.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
    linker._intermediate_table_cache.invalidate_cache()  # type: ignore[no-untyped-call]  # the backend's cache
    return Scored(prepared, pairs, must, model_used, trained, notices, seconds, backend, linker)


def _collapse_copies(table: pa.Table) -> tuple[pa.Table, list[tuple[str, str]]]:
    """The table without exact copies, and (copy, kept record) pairs. A copy is a record of the same source
    with every compared value the same, a full birth date, and a patronymic or a place among them: enough
    evidence that joining it unscored can never merge two people on missing values."""
    compared = ["source", "given", "surname", "patronymic", "sex", "birth_year", "birth_month", "birth_day",
                "birth_place", "origin"]  # fmt: skip
    valid = pc.is_valid
    complete = pc.and_(
        pc.and_(pc.and_(valid(table["given"]), valid(table["surname"])), valid(table["birth_day"])),
        pc.or_(pc.or_(valid(table["patronymic"]), valid(table["birth_place"])), valid(table["origin"])),
    )
    numbered = table.select(["unique_id", *compared]).append_column("_row", pa.array(range(table.num_rows)))
    candidates = numbered.filter(pc.fill_null(complete, False))
    if candidates.num_rows == 0:
        return table, []
    parts = [pc.fill_null(candidates[c].cast(pa.string()), "\x00") for c in compared]
    keys = pc.binary_join_element_wise(*parts, "\x1f")
    grouped = pa.table({"key": keys, "_row": candidates["_row"]}).group_by("key").aggregate([("_row", "min")])
    first = dict(zip(grouped["key"].to_pylist(), grouped["_row_min"].to_pylist(), strict=True))
    ids = table["unique_id"].to_pylist()
    must: list[tuple[str, str]] = []
    drop: list[int] = []
    for key, row in zip(keys.to_pylist(), candidates["_row"].to_pylist(), strict=True):
        kept = first[key]
        if kept != row:
            must.append((ids[row], ids[kept]))
            drop.append(row)
    if not drop:
        return table, []
    keep = pc.invert(pc.is_in(pa.array(range(table.num_rows)), pa.array(drop)))
    return table.filter(keep), must


def evidence_for(scored: Scored, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """For each pair: per compared field, both values as compared, the level reached and its weight (bits)."""
    if not pairs or scored.linker is None or scored.backend is None or scored.backend.is_spark:
        return {}
    model = json.loads(json.dumps(scored.model))
    model["retain_intermediate_calculation_columns"] = True
    model["retain_matching_columns"] = True
    linker = m.new_linker(scored.backend, _without_copies(scored), model)
    ordered = [(a, b) if a < b else (b, a) for a, b in pairs]
    blocked = pa.table(
        {
            "match_key": pa.array(["0"] * len(ordered), pa.string()),
            "join_key_l": pa.array([a for a, _ in ordered], pa.string()),
            "join_key_r": pa.array([b for _, b in ordered], pa.string()),
        }
    )
    linker.table_management.register_blocked_pairs_for_predict(scored.backend.api.register(blocked))
    frame = linker.inference.predict()
    table = _frame(scored.backend, frame, "*")
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    comparisons = model["comparisons"]
    rows = table.to_pylist()
    for row in rows:
        items = []
        for comparison in comparisons:
            name = comparison["output_column_name"]
            gamma = row.get(f"gamma_{name}")
            levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
            if gamma is None or gamma < 0:
                label, weight = "no value on one side", 0.0
            else:
                level = levels[len(levels) - 1 - int(gamma)]
                label = level.get("label_for_charts") or level.get("sql_condition", "")
                weight = float(row.get(f"mw_{name}") or 0.0) + float(row.get(f"mw_tf_adj_{name}") or 0.0)
            left, right = _values(row, name)
            if name == "document":
                left, right = "", ""  # a document number is not shown: its level says whether they agree
            items.append({"field": name, "level": label, "weight": round(weight, 2), "left": left, "right": right})
        out[(str(row["unique_id_l"]), str(row["unique_id_r"]))] = items
    return out


_SHOWN = {"given": "given", "surname": "surname", "patronymic": "patronymic", "birth": "birth_date", "sex": "sex",
          "origin": "origin", "birth_place": "birth_place"}  # fmt: skip


def _values(row: dict[str, Any], name: str) -> tuple[str, str]:
    column = _SHOWN.get(name, name)
    left, right = row.get(f"{column}_l"), row.get(f"{column}_r")
    if name == "birth" and left is None and right is None:
        left, right = row.get("birth_year_l"), row.get("birth_year_r")
    return ("" if left is None else str(left)), ("" if right is None else str(right))


def _without_copies(scored: Scored) -> pa.Table:
    copies = {a for a, _ in scored.must}
    if not copies:
        return scored.prepared.table
    return scored.prepared.table.filter(
        pc.invert(pc.is_in(scored.prepared.table["unique_id"], pa.array(sorted(copies))))
    )


def link_records(
    records: pa.Table,
    *,
    backend: m.Backend | None = None,
    model: Path | dict[str, Any] | None = None,
    threshold: float = m.SURE,
    pair_threshold: float = m.REVIEW,
    step: Step | None = None,
    seed: int = 42,
    duplicate_free: Iterable[str] | str | None = None,
    family: bool = True,
) -> LinkResult:
    """Link ``records`` (the shape of ``prepare.read_records``): see the module's docstring."""
    say = step or (lambda message, done: None)
    if not 0 < threshold <= 1 or not 0 < pair_threshold <= 1:
        raise ValueError("thresholds are match probabilities between 0 and 1")
    if isinstance(model, Path):
        model = load_model(model)
    # Weak pairs are kept too: clustering weighs every scored pair between two clusters before joining them.
    scored = score_records(
        records, backend=backend, model=model, floor=min(pair_threshold, threshold, CLUSTER_FLOOR), step=step,
        seed=seed,
    )  # fmt: skip
    prepared, notices, seconds = scored.prepared, scored.notices, scored.seconds
    if prepared.records == 0:
        empty = pa.table({"record_id": pa.array([], pa.string()), "cluster_id": pa.array([], pa.string())})
        return LinkResult(0, empty, _no_pairs(), scored.model, False, threshold, notices, prepared.unusable)
    moment = time.perf_counter()
    say("clustering", 0.85)
    sources = prepared.table["source"]
    if duplicate_free == "all":
        duplicate_free = [s for s in pc.unique(sources).to_pylist() if s is not None]
    elif isinstance(duplicate_free, str):
        duplicate_free = [duplicate_free]
    refusals = [0]

    def cluster(pairs: pa.Table) -> pa.Table:
        clusters, refusals[0] = cluster_pairs(
            prepared.table["unique_id"],
            sources,
            pairs["record_id_l"],
            pairs["record_id_r"],
            pairs["match_probability"],
            threshold=threshold,
            duplicate_free=duplicate_free,
            must=scored.must,
            years=prepared.table["birth_year"],
        )
        return clusters

    scored_pairs = scored.pairs
    clusters = cluster(scored_pairs)
    if family:
        say("weighing family links", 0.92)
        # The family's pairs are weighed in Python, which reads the model's conditions as DuckDB writes them.
        outcome = with_family(
            records, prepared.table, for_dialect(scored.model, "duckdb"), scored_pairs, clusters, cluster,
            threshold=threshold,
        )  # fmt: skip
        clusters, scored_pairs = outcome.clusters, outcome.pairs
        if found := len(outcome.relation_of()):
            notices.append(
                f"{found:,} pairs were found likely through their families: the spouses, the "
                "parents or same-named children of one person"
            )
    refused = refusals[0]
    if refused:
        notices.append(
            f"{refused:,} likely pairs were not joined: they would have put two records of a source that "
            "holds each person once, or people born years apart, into one cluster"
        )
    pairs = scored_pairs.filter(pc.greater_equal(scored_pairs["match_probability"], min(pair_threshold, threshold)))
    seconds["cluster"] = time.perf_counter() - moment
    say("done", 1.0)
    return LinkResult(
        records=prepared.records,
        clusters=clusters,
        pairs=pairs,
        model=scored.model,
        trained=scored.trained,
        threshold=threshold,
        notices=notices,
        unusable=prepared.unusable,
        seconds=seconds,
    )


def _no_pairs() -> pa.Table:
    return pa.table(
        {
            "record_id_l": pa.array([], pa.string()),
            "record_id_r": pa.array([], pa.string()),
            "match_probability": pa.array([], pa.float64()),
            "match_weight": pa.array([], pa.float64()),
        }
    )


def _frame(backend: m.Backend, frame: Any, columns: str, where: str | None = None) -> pa.Table:
    """A Splink result as an Arrow table, selected in the engine that holds it."""
    sql = f"SELECT {columns} FROM {frame.physical_name}"  # noqa: S608 - names from Splink, numbers formatted here
    if where:
        sql += f" WHERE {where}"
    if backend.is_spark:
        return pa.Table.from_pandas(backend.api.spark.sql(sql).toPandas(), preserve_index=False)
    result = backend.api._con.sql(sql)
    table = result.arrow()
    return table.read_all() if isinstance(table, pa.RecordBatchReader) else table


def link_file(
    source: Path,
    out: Path,
    *,
    pairs_out: Path | None = None,
    model: Path | dict[str, Any] | None = None,
    save_model: Path | None = None,
    threshold: float = m.REVIEW,
    step: Step | None = None,
    duplicate_free: Iterable[str] | str | None = None,
) -> LinkResult:
    """Link a person records file: ``record_id, cluster_id`` for every record into ``out``.

    The outputs are checked before any work (their folders exist, none is a folder or the input, no file is
    named twice) and written to temporary files that replace them only once all are complete: bad input, a
    failure or an interruption leaves every output as it was.
    """
    _check_outputs(source, [path for path in (out, pairs_out, save_model) if path is not None])
    loaded = load_model(model) if isinstance(model, Path) else model
    records = read_records(source)
    result = link_records(records, model=loaded, threshold=threshold, step=step, duplicate_free=duplicate_free)
    writes: list[tuple[Path, Callable[[Path], None]]] = [(out, lambda path: _write_csv(result.clusters, path))]
    if pairs_out is not None:
        writes.append((pairs_out, lambda path: _write_csv(result.pairs, path)))
    if save_model is not None:

        def write_model(path: Path) -> None:
            path.write_text(json.dumps(result.model, indent=1), encoding="utf-8")

        writes.append((save_model, write_model))
    _write_all(writes)
    return result


def _check_outputs(source: Path, outputs: list[Path]) -> None:
    seen: dict[Path, Path] = {Path(os.path.realpath(source)): source}
    for path in outputs:
        real = Path(os.path.realpath(path))
        if real in seen:
            other = "the input file" if seen[real] is source else f"another output ({seen[real]})"
            raise LinkageOutputError(f"{path}: cannot be written: it is {other}")
        seen[real] = path
        folder = real.parent
        if path.is_dir():
            raise LinkageOutputError(f"{path}: cannot be written: it is a folder")
        if not folder.is_dir():
            raise LinkageOutputError(f"{path}: cannot be written: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise LinkageOutputError(f"{path}: cannot be written: permission denied")


def _write_all(writes: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Each output written to a temporary file beside it; all moved into place once every one is complete."""
    done: list[tuple[Path, Path]] = []
    try:
        for path, write in writes:
            temporary = path.with_name(f".{path.name}.{os.getpid()}-{len(done)}.partial")
            done.append((temporary, path))
            write(temporary)
        for temporary, path in done:
            os.replace(temporary, path)
    finally:
        for temporary, _ in done:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _write_csv(table: pa.Table, path: Path) -> None:
    if table.num_rows == 0:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow(table.column_names)
        return
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
