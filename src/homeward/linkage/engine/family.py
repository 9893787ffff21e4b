"""Family context as evidence: records whose relatives are already known to be one person. No Django.

A woman registered under her birth surname in one registry and her married surname in another, with no
birth date in one of them, shares little more than a given name and a place between her two records:
too little to stand out among a million others. But if her two records name as spouse two records that
are one person, or if each is the mother of a record of one same child, the pair is no longer one among
a million: it is one among a handful.

Fellegi-Sunter weighs a pair as the prior odds that it matches times the Bayes factor of each compared
field. The fields' factors stay those of the trained model; what the family changes is the prior. Pairs
found through a relation of one kind (spouses of one person; fathers, or mothers, of one person; children
of one person with the same given name) are a block of their own, and the share of matches in that block is
learned from the block itself, without labels (expectation-maximisation with the field weights fixed).
Siblings are two people: children of one person are paired only when their given names agree, and weighed
only on what is a person's own (given name, birth date, sex, document), not on the surname, father's name
and places that siblings share.

Family links point to records of the same source (the person records file's ``father_record_id``,
``mother_record_id``, ``spouse_record_id``); a link to another source's record or to no record is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from homeward.linkage.engine.realtime import Scorer


@dataclass(frozen=True)
class Relation:
    """Two records whose relatives (through ``column``) are one person: as what they are compared."""

    column: str  # the family link column of the person records file
    # True: the records are the ones holding the link, grouped by the cluster of the record it names (the
    # spouses of one person; the children of one person). False: the records named by the link, grouped by
    # the cluster of the record holding it (the fathers, or mothers, of one person).
    holder: bool
    # Children of one person are siblings unless they share a given name: only those pairs are weighed.
    same_given: bool
    # At most this many records in a group: a person has a handful of records (one per source), a parent a
    # handful per child; a crowded group is not one person's, and would give quadratically many pairs.
    most: int
    # The comparisons weighed (None: all). Siblings share a surname, a patronymic, places and often a home:
    # agreeing on those says nothing between two children of one person, and would make siblings one.
    compared: frozenset[str] | None = None


_PERSONAL = frozenset({"given", "birth", "sex", "document"})


RELATIONS: dict[str, Relation] = {
    "spouses of one person": Relation("spouse_record_id", holder=True, same_given=False, most=12),
    "fathers of one person": Relation("father_record_id", holder=False, same_given=False, most=12),
    "mothers of one person": Relation("mother_record_id", holder=False, same_given=False, most=12),
    "children of one father": Relation("father_record_id", holder=True, same_given=True, most=60, compared=_PERSONAL),
    "children of one mother": Relation("mother_record_id", holder=True, same_given=True, most=60, compared=_PERSONAL),
}
# The learned share of matches is kept within these bounds: a block of a few pairs says little.
MIN_SHARE, MAX_SHARE = 0.01, 0.99
# Expectation-maximisation stops when the share moves less than this.
EM_TOLERANCE = 1e-6


_EMPTY = {
    "record_id_l": pa.string(), "record_id_r": pa.string(), "relation": pa.string(), "prior_weight": pa.float64(),
    "match_weight": pa.float64(), "match_probability": pa.float64(),
}  # fmt: skip
_NONE = pa.table(
    {"record_id_l": pa.array([], pa.string()), "record_id_r": pa.array([], pa.string()),
     "relation": pa.array([], pa.string()), "apart": pa.array([], pa.bool_())}
)  # fmt: skip


@dataclass
class FamilyScored:
    """Pairs found through family context, scored: record ids, the relation, the prior the relation's block
    gives (bits), the match weight (that prior and the fields' weights) and the match probability."""

    pairs: pa.Table  # record_id_l, record_id_r, relation, prior_weight, match_weight, match_probability
    shares: dict[str, float]  # the learned share of matches per relation


@dataclass
class FamilyOutcome:
    clusters: pa.Table  # record_id, cluster_id
    pairs: pa.Table  # the scored pairs with the family's added
    shares: dict[str, float]  # the share of matches learned per relation (the last round's)
    added: pa.Table  # the family's pairs added (as ``FamilyScored.pairs``), each round's, in order

    def relation_of(self) -> dict[tuple[str, str], tuple[str, float]]:
        """Each added pair (ids in order) to its relation and the prior its block gave it (bits)."""
        columns = (self.added[c].to_pylist() for c in ("record_id_l", "record_id_r", "relation", "prior_weight"))
        return {(min(a, b), max(a, b)): (relation, prior) for a, b, relation, prior in zip(*columns, strict=True)}


def candidates(records: pa.Table, clusters: pa.Table, given: pa.Table | None = None) -> pa.Table:
    """Pairs of records related to one person in the same way (``RELATIONS``): ``record_id_l < record_id_r,
    relation, apart`` (apart: in different clusters). ``given`` (record_id, key) is each record's given name
    key, for the relations that need the same given name (without it they are not used)."""
    present = {name: r for name, r in RELATIONS.items() if r.column in records.column_names}
    if given is None:
        present = {name: r for name, r in present.items() if not r.same_given}
    if not present or records.num_rows == 0:
        return _NONE
    tables = {
        "links": records.select(["record_id", "source", *sorted({r.column for r in present.values()})]),
        "clusters": clusters.select(["record_id", "cluster_id"]),
    }
    if given is not None:
        tables["given"] = given.select(["record_id", "key"])
    parts = []
    for number, relation in enumerate(present.values()):
        column = relation.column
        # r holds the link to t (same source); the member is r grouped by t's cluster, or t by r's.
        member, grouped = ("r", "t") if relation.holder else ("t", "r")
        parts.append(
            f"SELECT {number} AS relation, {member}.record_id AS member, c.cluster_id AS key "  # noqa: S608
            f"FROM links r JOIN links t ON t.record_id = r.{column} AND t.source = r.source "
            "AND t.record_id <> r.record_id "  # a record naming itself names no relative
            f"JOIN clusters c ON c.record_id = {grouped}.record_id WHERE r.{column} <> ''"
        )
    names = ", ".join(f"'{name}'" for name in present)
    most = ", ".join(str(r.most) for r in present.values())
    alike = ", ".join("true" if r.same_given else "false" for r in present.values())
    given_join = (
        "LEFT JOIN given ga ON ga.record_id = a.member LEFT JOIN given gb ON gb.record_id = b.member"
        if given is not None
        else ""
    )
    given_test = f"AND (NOT list_extract([{alike}], a.relation + 1) OR ga.key = gb.key)" if given is not None else ""
    sql = f"""
        WITH member AS (SELECT DISTINCT relation, member, key FROM ({" UNION ALL ".join(parts)})),
        kept AS (
            SELECT relation, member, key FROM member
            WHERE (relation, key) IN (
                SELECT relation, key FROM member GROUP BY relation, key
                HAVING count(*) BETWEEN 2 AND list_extract([{most}], relation + 1)
            )
        )
        SELECT DISTINCT a.member AS record_id_l, b.member AS record_id_r,
            list_extract([{names}], a.relation + 1) AS relation, ca.cluster_id <> cb.cluster_id AS apart
        FROM kept a JOIN kept b ON a.relation = b.relation AND a.key = b.key AND a.member < b.member
        JOIN clusters ca ON ca.record_id = a.member JOIN clusters cb ON cb.record_id = b.member
        {given_join}
        WHERE true {given_test}
        ORDER BY record_id_l, record_id_r, relation
    """  # noqa: S608 - column names from RELATIONS, numbers formatted here
    return _sql(tables, sql)


def _empty(schema: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([], kind) for name, kind in schema.items()})


def share_of_matches(weights: np.ndarray) -> float:
    """The share of matches in a block of pairs, from their fields' weights (bits, no prior), by EM."""
    if len(weights) == 0:
        return MIN_SHARE
    factors = np.exp2(np.clip(weights, -60, 60))
    share = 0.5
    for _ in range(200):
        odds = share / (1 - share) * factors
        updated = float(np.clip(np.mean(odds / (1 + odds)), MIN_SHARE, MAX_SHARE))
        if abs(updated - share) < EM_TOLERANCE:
            return updated
        share = updated
    return share


def score(prepared: pa.Table, model: dict[str, Any], found: pa.Table, scorer: Scorer | None = None) -> FamilyScored:
    """The pairs of ``found`` (from ``candidates``) that are apart, scored with the model's field weights and
    their relation's own prior: the share of matches among the relation's pairs apart, learned from them."""
    found = found.filter(found["apart"])
    if found.num_rows == 0:
        return FamilyScored(_empty(_EMPTY), {})
    scorer = scorer or Scorer(model, prepared)
    wanted = pc.unique(pa.chunked_array([*found["record_id_l"].chunks, *found["record_id_r"].chunks]))
    rows = _rows(prepared, wanted, pc.index_in(wanted, value_set=prepared["unique_id"]))
    left, right, relations = (found[c].to_pylist() for c in ("record_id_l", "record_id_r", "relation"))
    fields = np.full(len(left), np.nan)
    for i, (a, b, relation) in enumerate(zip(left, right, relations, strict=True)):
        if a in rows and b in rows:
            total, evidence = scorer.score(rows[a], rows[b])
            compared = RELATIONS[relation].compared
            if compared is None:
                fields[i] = total - scorer.prior
            else:
                fields[i] = sum(weight for name, _level, weight in evidence if name in compared)
    known = ~np.isnan(fields)
    relation_array = np.array(relations, dtype=object)
    shares: dict[str, float] = {}
    prior = np.zeros(len(left))
    for relation in RELATIONS:
        block = known & (relation_array == relation)
        if not block.any():
            continue
        share = share_of_matches(fields[block])
        shares[relation] = share
        prior[block] = math.log2(share / (1 - share))
    weight = np.where(known, fields + prior, 0.0)
    probability = 1 / (1 + np.exp2(-np.clip(weight, -60, 60)))
    table = pa.table(
        {
            "record_id_l": pa.array(left, pa.string()),
            "record_id_r": pa.array(right, pa.string()),
            "relation": pa.array(relations, pa.string()),
            "prior_weight": pa.array(prior),
            "match_weight": pa.array(weight),
            "match_probability": pa.array(probability),
        }
    ).filter(pa.array(known))
    return FamilyScored(table, shares)


def _rows(prepared: pa.Table, wanted: pa.Array, at: pa.Array) -> dict[str, dict[str, Any]]:
    valid = pc.is_valid(at)
    ids = pc.filter(wanted, valid).to_pylist()
    taken = prepared.take(pc.filter(at, valid)).to_pylist() if ids else []
    return dict(zip(ids, taken, strict=True))


def with_family(
    records: pa.Table,
    prepared: pa.Table,
    model: dict[str, Any],
    pairs: pa.Table,
    clusters: pa.Table,
    cluster: Callable[[pa.Table], pa.Table],
    *,
    threshold: float,
    rounds: int = 2,  # the second added 0.002 of F1 on the synthetic million; each round costs a clustering
) -> FamilyOutcome:
    """Clusters again with the family's pairs added, until no new pair is found (at most ``rounds`` times).

    ``pairs`` are the scored pairs (record_id_l, record_id_r, match_probability, match_weight); ``cluster``
    clusters a pairs table with every constraint of the first clustering. Pairs the family makes at least
    ``threshold`` likely are added; one already scored keeps the higher of its two probabilities."""
    scorer: Scorer | None = None
    shares: dict[str, float] = {}
    added: list[pa.Table] = []
    given = pa.table({"record_id": prepared["unique_id"], "key": prepared["given_key"]})
    seen: set[tuple[str, str]] = set()  # pairs added in an earlier round (clustering may have refused them)
    for _ in range(rounds):
        found = candidates(records, clusters, given)
        if not pc.any(found["apart"]).as_py():
            break
        scorer = scorer or Scorer(model, prepared)
        scored = score(prepared, model, found, scorer)
        shares = scored.shares or shares
        # Only pairs the family makes likely enough to join: a weak one would only lower the average of the
        # pairs between two clusters, which clustering weighs before joining them. A pair added before is in
        # the pairs already.
        likely = scored.pairs.filter(pc.greater_equal(scored.pairs["match_probability"], threshold))
        ids = list(zip(likely["record_id_l"].to_pylist(), likely["record_id_r"].to_pylist(), strict=True))
        likely = likely.filter(pa.array([pair not in seen for pair in ids], pa.bool_()))
        if likely.num_rows == 0:
            break
        seen.update(ids)
        pairs = _merged(pairs, likely)
        clusters = cluster(pairs)
        added.append(likely)
    if not added:
        added.append(_empty(_EMPTY))
    return FamilyOutcome(clusters, pairs, shares, pa.concat_tables(added))


def _merged(pairs: pa.Table, family: pa.Table) -> pa.Table:
    """The pairs with the family's, each pair once at its higher probability. The family's pairs are few: the
    others are copied once as they are (a grouping of millions of pairs would hold gigabytes)."""
    columns = ["record_id_l", "record_id_r", "match_probability", "match_weight"]
    table = _sql(
        {"pairs": pairs.select(columns), "added": family.select(columns)},
        """
        WITH f AS (
            SELECT least(record_id_l, record_id_r) AS l, greatest(record_id_l, record_id_r) AS r,
                max(match_probability) AS p, max(match_weight) AS w
            FROM added GROUP BY 1, 2
        )
        SELECT p.record_id_l, p.record_id_r, p.match_probability, p.match_weight FROM pairs p
        ANTI JOIN f ON f.l = least(p.record_id_l, p.record_id_r) AND f.r = greatest(p.record_id_l, p.record_id_r)
        UNION ALL
        SELECT f.l, f.r, greatest(f.p, coalesce(p.match_probability, 0)), greatest(f.w, coalesce(p.match_weight, f.w))
        FROM f LEFT JOIN pairs p
            ON f.l = least(p.record_id_l, p.record_id_r) AND f.r = greatest(p.record_id_l, p.record_id_r)
        """,
    )
    return table.cast(pairs.select(columns).schema)


def _sql(tables: dict[str, pa.Table], sql: str) -> pa.Table:
    """``sql`` run in a throw-away DuckDB database over Arrow ``tables`` (by name), as an Arrow table."""
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        result = con.sql(sql).arrow()
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    finally:
        con.close()
