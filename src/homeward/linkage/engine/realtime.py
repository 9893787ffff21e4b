"""Real-time matching: one new record against everything already linked, in milliseconds. No Django.

Splink's own ``predict_between`` rebuilds its pipeline for every call (about 1.7 s a record at a million
records). Here the trained model's weights are applied in Python: an index of the blocking keys finds
the candidates (the same keys as the batch blocking, crowded keys left out as there), and each level's SQL
condition is evaluated on the two records, with the same term frequencies, so the answers are the batch
model's answers (a test checks that they agree).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from homeward.linkage.engine import model as m
from homeward.linkage.engine.prepare import INPUT_FIELDS, MAX_BLOCK, add_block_keys, prepare, rule_key

Row = dict[str, Any]


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity as DuckDB computes it (prefix scale 0.1 up to four letters, when above 0.7)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    matched_a = [False] * la
    matched_b = [False] * lb
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not matched_b[j] and b[j] == ch:
                matched_a[i] = matched_b[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions, k = 0, 0
    for i in range(la):
        if matched_a[i]:
            while not matched_b[k]:
                k += 1
            if a[i] != b[k]:
                transpositions += 1
            k += 1
    jaro = (matches / la + matches / lb + (matches - transpositions // 2) / matches) / 3
    if jaro <= 0.7:
        return jaro
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jaro_winkler_similarity": jaro_winkler,
    "jaro_winkler": jaro_winkler,
    "abs": abs,
}


def _compile(sql: str) -> Callable[[Row, Row], Any]:
    """A level's SQL condition (DuckDB dialect) as a Python function of the two records, with SQL's nulls."""
    tree = sqlglot.parse_one(sql, read="duckdb")

    def build(node: exp.Expression) -> Callable[[Row, Row], Any]:
        if isinstance(node, exp.Paren):
            return build(node.this)
        if isinstance(node, exp.Column):
            name = node.name
            column = name[:-2]
            if name.endswith("_l"):
                return lambda left, right: left.get(column)
            if name.endswith("_r"):
                return lambda left, right: right.get(column)
            raise ValueError(f"column {name!r} names no side (_l or _r)")
        if isinstance(node, exp.Literal):
            value: Any = node.this if node.is_string else float(node.this)
            return lambda left, right: value
        if isinstance(node, exp.Null):
            return lambda left, right: None
        if isinstance(node, exp.Not):
            inner = build(node.this)
            return lambda left, right: None if (v := inner(left, right)) is None else not v
        if isinstance(node, exp.Is):
            inner = build(node.this)
            return lambda left, right: inner(left, right) is None
        if isinstance(node, exp.And):
            one, two = build(node.this), build(node.expression)
            return lambda left, right: _and(one(left, right), two(left, right))
        if isinstance(node, exp.Or):
            one, two = build(node.this), build(node.expression)
            return lambda left, right: _or(one(left, right), two(left, right))
        if isinstance(node, exp.Abs):
            inner = build(node.this)
            return lambda left, right: None if (v := inner(left, right)) is None else abs(v)
        if isinstance(node, exp.Sub):
            one, two = build(node.this), build(node.expression)
            return lambda left, right: _binary(one(left, right), two(left, right), lambda x, y: x - y)
        if isinstance(node, exp.Binary) and type(node) in _COMPARE:
            one, two, op = build(node.this), build(node.expression), _COMPARE[type(node)]
            return lambda left, right: _binary(one(left, right), two(left, right), op)
        if isinstance(node, exp.JarowinklerSimilarity):
            one, two = build(node.this), build(node.expression)
            return lambda left, right: _call(jaro_winkler, [one(left, right), two(left, right)])
        if isinstance(node, exp.Anonymous) and node.name.lower() in _FUNCTIONS:
            function = _FUNCTIONS[node.name.lower()]
            args = [build(a) for a in node.expressions]
            return lambda left, right: _call(function, [arg(left, right) for arg in args])
        raise ValueError(f"{node.sql()!r} is not supported in real-time matching")

    return build(cast(exp.Expression, tree))


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    exp.EQ: lambda x, y: x == y,
    exp.NEQ: lambda x, y: x != y,
    exp.GT: lambda x, y: x > y,
    exp.GTE: lambda x, y: x >= y,
    exp.LT: lambda x, y: x < y,
    exp.LTE: lambda x, y: x <= y,
}


def _and(x: Any, y: Any) -> Any:
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    return bool(x) and bool(y)


def _or(x: Any, y: Any) -> Any:
    if x is True or y is True:
        return True
    if x is None or y is None:
        return None
    return bool(x) or bool(y)


def _binary(x: Any, y: Any, op: Callable[[Any, Any], Any]) -> Any:
    """An SQL operator: null when either side is null."""
    if x is None or y is None:
        return None
    return op(x, y)


def _call(function: Callable[..., Any], args: list[Any]) -> Any:
    if any(a is None for a in args):
        return None
    return function(*args)


@dataclass(frozen=True)
class _Level:
    label: str
    test: Callable[[Row, Row], Any] | None  # None: the else level
    is_null: bool
    weight: float  # log2(m / u)
    tf_column: str | None
    log2_u_exact: float
    tf_minimum: float


@dataclass(frozen=True)
class _Comparison:
    name: str
    levels: list[_Level]


@dataclass(frozen=True)
class Match:
    record_id: str
    match_probability: float
    match_weight: float
    evidence: list[tuple[str, str, float]]  # (comparison, level label, weight)


class Scorer:
    """A trained model's weights applied in Python to two prepared records: the batch model's match weight, with
    the same term frequencies (those of ``prepared``, the records the model scores among)."""

    def __init__(self, model: dict[str, Any], prepared: pa.Table) -> None:
        prior = float(model["probability_two_random_records_match"])
        self.prior = math.log2(prior / (1 - prior))
        self.comparisons = [_comparison(c) for c in model["comparisons"]]
        self.tf: dict[str, dict[Any, float]] = {}
        for comparison in self.comparisons:
            for level in comparison.levels:
                if level.tf_column and level.tf_column not in self.tf:
                    self.tf[level.tf_column] = _frequencies(prepared[level.tf_column])

    def score(self, left: Row, right: Row) -> tuple[float, list[tuple[str, str, float]]]:
        """The match weight (bits, the prior included) and, per comparison, the level reached and its weight."""
        total = self.prior
        evidence = []
        for comparison in self.comparisons:
            for level in comparison.levels:
                if level.test is not None and not level.test(left, right):
                    continue
                weight = 0.0 if level.is_null else level.weight
                if level.tf_column and not level.is_null and level.test is not None:
                    frequencies = self.tf[level.tf_column]
                    tf_l = frequencies.get(left.get(level.tf_column))
                    tf_r = frequencies.get(right.get(level.tf_column))
                    if tf_l is not None or tf_r is not None:
                        tf = max(tf_l or tf_r or 0.0, tf_r or tf_l or 0.0, level.tf_minimum)
                        weight += level.log2_u_exact - math.log2(tf)
                total += weight
                evidence.append((comparison.name, level.label, weight))
                break
        return total, evidence


class RealtimeMatcher:
    """An index of the blocking keys of linked records, and the model to score a new record against them."""

    def __init__(self, records: pa.Table, model: dict[str, Any], *, limit: int = MAX_BLOCK) -> None:
        prepared = prepare(records).table
        self.rows: list[Row] = prepared.to_pylist()
        self.ids = [row["unique_id"] for row in self.rows]
        self.known = set(self.ids)
        self.rules = m.PREDICT_BLOCKING
        self.limit = limit
        # The batch's own block keys (crowded blocks already left out, as in the batch).
        keyed = add_block_keys(prepared, m.ALL_RULES, limit=limit)
        self.index: list[dict[str, list[int]]] = []
        self.crowded: list[set[str]] = []
        self.limits: list[int] = []  # the largest block each rule kept (the batch's pair budget may cut below limit)
        for number, rule in enumerate(self.rules):
            found: dict[str, list[int]] = defaultdict(list)
            left_out: set[str] = set()
            kept = keyed[f"block_{number}"].is_valid().to_pylist()
            for position, key in enumerate(rule_key(prepared, rule.columns).to_pylist()):
                if kept[position]:
                    found[key].append(position)
                elif key is not None:
                    left_out.add(key)
            self.index.append(dict(found))
            self.crowded.append(left_out)
            self.limits.append(min(limit, max((len(v) for v in found.values()), default=limit)))
        self.missing = [pc.is_null(prepared[r.missing]).to_pylist() if r.missing else None for r in self.rules]
        self.scorer = Scorer(model, prepared)

    def candidates(self, row: Row) -> set[int]:
        found: set[int] = set()
        for number, rule in enumerate(self.rules):
            key = _row_key(row, rule.columns)
            if key is None:
                continue
            hits = self.index[number].get(key, ())
            if rule.missing is None:
                found.update(hits)
                continue
            lacking = self.missing[number]
            assert lacking is not None
            if row.get(rule.missing) is None:
                found.update(hits)  # the new record lacks the column: every record of the block
            else:
                found.update(i for i in hits if lacking[i])  # only those that lack it
        return found

    def add(self, records: list[dict[str, Any]]) -> None:
        """Add records that came in since the index was built (each new registration once it is matched), so
        that the next one is matched against them too: the same family registered twice a minute apart is
        found. A block that grows crowded is left out, as the batch leaves it out; term frequencies stay
        those of the build. A record already in the index is not added again."""
        for row in _prepared([r for r in records if str(r.get("record_id") or "") not in self.known]):
            self.known.add(row["unique_id"])
            position = len(self.rows)
            self.rows.append(row)
            self.ids.append(row["unique_id"])
            for number, rule in enumerate(self.rules):
                lacking = self.missing[number]
                if lacking is not None:
                    lacking.append(row.get(rule.missing) is None)  # type: ignore[arg-type]
                key = _row_key(row, rule.columns)
                if key is None or key in self.crowded[number]:
                    continue
                block = self.index[number].setdefault(key, [])
                block.append(position)
                if len(block) > self.limits[number]:
                    del self.index[number][key]
                    self.crowded[number].add(key)

    def match(self, record: dict[str, Any], *, threshold: float = m.REVIEW) -> list[Match]:
        """The linked records that may be the same person as ``record`` (the person records fields), most
        probable first."""
        row = _prepared([record])[0]
        out = []
        for position in self.candidates(row):
            other = self.rows[position]
            if other["unique_id"] == row["unique_id"] and row["unique_id"]:
                continue
            weight, evidence = self.scorer.score(row, other)
            probability = 2**weight / (1 + 2**weight)
            if probability >= threshold:
                out.append(Match(other["unique_id"], probability, weight, evidence))
        out.sort(key=lambda found: (-found.match_probability, found.record_id))
        return out


def _prepared(records: list[dict[str, Any]]) -> list[Row]:
    """Records of the person records fields, prepared as the batch prepares them."""
    table = pa.table({k: pa.array([str(r.get(k) or "") for r in records], pa.string()) for k in INPUT_FIELDS})
    return cast(list[Row], prepare(table).table.to_pylist())


def _comparison(data: dict[str, Any]) -> _Comparison:
    levels = []
    exact_u = None
    for level in data["comparison_levels"]:
        if level.get("tf_adjustment_column") and level.get("u_probability"):
            exact_u = float(level["u_probability"])
            break
    for level in data["comparison_levels"]:
        condition = level["sql_condition"]
        is_null = bool(level.get("is_null_level"))
        test = None if condition.strip().upper() == "ELSE" else _compile(condition)
        m_prob, u_prob = level.get("m_probability"), level.get("u_probability")
        weight = math.log2(m_prob / u_prob) if m_prob and u_prob else 0.0
        tf_column = level.get("tf_adjustment_column")
        levels.append(
            _Level(
                label=level.get("label_for_charts") or condition,
                test=test,
                is_null=is_null,
                weight=weight,
                tf_column=tf_column,
                log2_u_exact=math.log2(exact_u) if tf_column and exact_u else 0.0,
                tf_minimum=float(level.get("tf_minimum_u_value") or 0.0),
            )
        )
    return _Comparison(name=data["output_column_name"], levels=levels)


def _frequencies(column: pa.ChunkedArray | pa.Array) -> dict[Any, float]:
    counts = pc.value_counts(column.drop_null() if hasattr(column, "drop_null") else column)
    total = sum(counts.field("counts").to_pylist())
    return {
        value: count / total
        for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
        if value is not None
    }


def _row_key(row: Row, columns: Iterable[str]) -> str | None:
    values = []
    for column in columns:
        value = row.get(column)
        if value is None:
            return None
        values.append(str(value))
    return "\x1f".join(values)
