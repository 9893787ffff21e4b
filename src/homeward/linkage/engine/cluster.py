"""Clusters from scored pairs, strongest first, never putting two records of one duplicate-free source together.

A population register holds each person once: two of its records in one cluster mean a wrong link
somewhere in the chain. Plain connected components would chain through such a link (A-B strong, B-C
strong, A and C from the same register); here pairs are taken from the most to the least probable, and a
pair whose two clusters hold records of the same duplicate-free source is left out. Pure Python and
Arrow; linear in records and pairs (union-find).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from homeward.core.memory import collector_paused


@collector_paused  # millions of small links, and no cycles
def cluster_pairs(
    record_ids: pa.Array,
    sources: pa.Array,
    left: pa.Array,
    right: pa.Array,
    probability: pa.Array,
    *,
    threshold: float,
    duplicate_free: Iterable[str] | None = None,
    must: Iterable[tuple[str, str]] = (),
    cannot: Iterable[tuple[str, str]] = (),
    years: pa.Array | pa.ChunkedArray | None = None,
    max_year_spread: int = 3,
) -> tuple[pa.Table, int]:
    """(record_id, cluster_id for every record; the number of pairs left out because of the constraint).

    ``duplicate_free`` names the sources that hold each person at most once (None: none of them). ``must``
    pairs are joined first, whatever the constraints (records already known to be one person); ``cannot``
    pairs never end up in one cluster. With ``years`` (birth years, null when unknown), no join makes a
    cluster whose known birth years lie more than ``max_year_spread`` apart: a record without a date that
    matches a grandfather and his namesake grandson equally joins one of them, not both. The cluster id is
    the smallest record id of the cluster, so it does not depend on the order of the input.
    """
    ids = record_ids.combine_chunks() if isinstance(record_ids, pa.ChunkedArray) else record_ids
    count = len(ids)
    position = {value: i for i, value in enumerate(ids.to_pylist())}
    free = set(duplicate_free or ())
    source_values = sources.to_pylist()
    source_bit = {name: 1 << n for n, name in enumerate(sorted({s for s in source_values if s in free}))}
    mask = [source_bit.get(s, 0) if s is not None else 0 for s in source_values]
    # A "cannot" pair shares a bit of its own, so their clusters clash as two records of one register do.
    bit = 1 << len(source_bit)
    for one_id, other_id in cannot:
        if one_id in position and other_id in position:
            mask[position[one_id]] |= bit
            mask[position[other_id]] |= bit
            bit <<= 1
    parent = list(range(count))
    year_list = years.to_pylist() if years is not None else [None] * count
    low: list[int | None] = list(year_list)
    high: list[int | None] = list(year_list)
    # Between two clusters: the sum and the number of scored pairs that join them (average linkage).
    links: list[dict[int, list[float]] | None] = [None] * count
    table = pa.table({"l": left, "r": right, "p": probability})
    # A weak pair counts only between two clusters being joined, and a record joins a cluster only through a
    # pair at the threshold: pairs with a record that has no such pair can never count, and are left out.
    strong = table.filter(pc.greater_equal(table["p"], threshold))
    joinable = pc.unique(pa.chunked_array([*strong["l"].chunks, *strong["r"].chunks], type=table["l"].type))
    table = table.filter(pc.and_(pc.is_in(table["l"], joinable), pc.is_in(table["r"], joinable))).sort_by(
        [("p", "descending"), ("l", "ascending"), ("r", "ascending")]
    )
    ls = pc.index_in(table["l"], value_set=ids).to_pylist()
    rs = pc.index_in(table["r"], value_set=ids).to_pylist()
    ps = table["p"].to_pylist()
    for a, b, p in zip(ls, rs, ps, strict=True):
        for one, other in ((a, b), (b, a)):
            edges = links[one]
            if edges is None:
                edges = links[one] = {}
            edges[other] = [p, 1.0]

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def join(ra: int, rb: int) -> None:
        """Join two clusters (roots): the one with more links absorbs the other's links."""
        la, lb = links[ra] or {}, links[rb] or {}
        if len(la) < len(lb):
            ra, rb, la, lb = rb, ra, lb, la
        parent[rb] = ra
        mask[ra] |= mask[rb]
        if low[rb] is not None:
            low[ra] = low[rb] if low[ra] is None else min(low[ra], low[rb])  # type: ignore[type-var]
            high[ra] = high[rb] if high[ra] is None else max(high[ra], high[rb])  # type: ignore[type-var]
        # Fold rb's links into ra's, and point every neighbour of rb at ra.
        la.pop(rb, None)
        for neighbour, (s_, n_) in lb.items():
            if neighbour == ra:
                continue
            entry = la.get(neighbour)
            if entry is None:
                la[neighbour] = [s_, n_]
            else:
                entry[0] += s_
                entry[1] += n_
            theirs = links[neighbour]
            assert theirs is not None
            moved = theirs.pop(rb)
            mine = theirs.get(ra)
            if mine is None:
                theirs[ra] = moved
            else:
                mine[0] += moved[0]
                mine[1] += moved[1]
        links[ra] = la
        links[rb] = None

    for a_id, b_id in must:
        if a_id not in position or b_id not in position:
            continue
        ra, rb = find(position[a_id]), find(position[b_id])
        if ra != rb:
            join(ra, rb)
    refused = 0
    for a, b, p in zip(ls, rs, ps, strict=True):
        if p < threshold:
            break
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        # The years rule keeps a dateless record from chaining people born far apart; a pair whose own two
        # records both have a year has been weighed on those years by the model already.
        dated = year_list[a] is not None and year_list[b] is not None
        if mask[ra] & mask[rb] or (not dated and _too_far(low, high, ra, rb, max_year_spread)):
            refused += 1
            continue
        total, seen = (links[ra] or {}).get(rb, (0.0, 0.0))
        if seen and total / seen < threshold:
            # Strong here, but the two clusters' other records disagree: joining them would chain.
            continue
        join(ra, rb)
    roots = [find(i) for i in range(count)]
    names = ids.to_pylist()
    smallest: dict[int, str] = {}
    for i, root in enumerate(roots):
        name = names[i]
        current = smallest.get(root)
        if current is None or name < current:
            smallest[root] = name
    clusters = pa.array([smallest[root] for root in roots], pa.string())
    return pa.table({"record_id": ids, "cluster_id": clusters}), refused


def _too_far(low: list[int | None], high: list[int | None], a: int, b: int, spread: int) -> bool:
    if low[a] is None or low[b] is None:
        return False
    return max(high[a], high[b]) - min(low[a], low[b]) > spread  # type: ignore[type-var,operator]
