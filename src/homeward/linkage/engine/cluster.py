"""Clusters from scored pairs, strongest first, never putting two records of one duplicate-free source together.

A population register holds each person once: two of its records in one cluster mean a wrong link
somewhere in the chain. Plain connected components would chain through such a link (A-B strong, B-C
strong, A and C from the same register); here pairs are taken from the most to the least probable, and a
pair whose two clusters hold records of the same duplicate-free source is left out. Pure Python and
Arrow; linear in records and pairs (union-find).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
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

    Each pair of records is given once (in either order), as Splink scores it: two records alone in their
    clusters are joined on their one pair without weighing the pairs between the clusters.

    ``duplicate_free`` names the sources that hold each person at most once (None: none of them). ``must``
    pairs are joined first, whatever the constraints (records already known to be one person); ``cannot``
    pairs never end up in one cluster. With ``years`` (birth years, null when unknown), no join makes a
    cluster whose known birth years lie more than ``max_year_spread`` apart: a record without a date that
    matches a grandfather and his namesake grandson equally joins one of them, not both. The cluster id is
    the smallest record id of the cluster, so it does not depend on the order of the input.
    """
    ids = record_ids.combine_chunks() if isinstance(record_ids, pa.ChunkedArray) else record_ids
    count = len(ids)
    # Records are numbered by their position; ids and sources stay in Arrow (millions of Python strings would
    # cost more memory than everything else here).
    must, cannot = list(must), list(cannot)
    position = _positions(ids, [record for pair in (*must, *cannot) for record in pair])
    free = set(duplicate_free or ())
    encoded = (sources.combine_chunks() if isinstance(sources, pa.ChunkedArray) else sources).dictionary_encode()
    names_of_sources = encoded.dictionary.to_pylist()
    kept = sorted(name for name in names_of_sources if name in free)
    bit_of = [1 << kept.index(name) if name in free else 0 for name in names_of_sources]
    mask = [0 if code is None else bit_of[code] for code in encoded.indices.to_pylist()]
    # A "cannot" pair shares a bit of its own, so their clusters clash as two records of one register do.
    bit = 1 << len(kept)
    for one_id, other_id in cannot:
        if one_id in position and other_id in position:
            mask[position[one_id]] |= bit
            mask[position[other_id]] |= bit
            bit <<= 1
    parent = list(range(count))
    year_list = years.to_pylist() if years is not None else [None] * count
    low: list[int | None] = list(year_list)
    high: list[int | None] = list(year_list)
    # Pairs as positions of their records (one hash of the ids for both ends), then on integers only.
    chunks = [
        c.cast(ids.type)
        for side in (left, right)
        for c in (side.chunks if isinstance(side, pa.ChunkedArray) else [side])
    ]
    ends_at = pc.index_in(pa.chunked_array(chunks, type=ids.type), value_set=ids).fill_null(-1).to_numpy()
    pairs_count = len(ends_at) // 2
    left_at, right_at = ends_at[:pairs_count].astype(np.int64), ends_at[pairs_count:].astype(np.int64)
    weight = np.asarray(
        (probability.combine_chunks() if isinstance(probability, pa.ChunkedArray) else probability).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.float64,
    )
    # A weak pair counts only between two clusters being joined, and a record joins a cluster only through a
    # pair at the threshold: pairs with a record that has no such pair can never count, and are left out.
    known = (left_at >= 0) & (right_at >= 0)
    strong = known & (weight >= threshold)
    joinable = np.zeros(count, dtype=bool)
    joinable[left_at[strong]] = True
    joinable[right_at[strong]] = True
    keep = known & joinable[np.maximum(left_at, 0)] & joinable[np.maximum(right_at, 0)]
    left_at, right_at, weight = left_at[keep], right_at[keep], weight[keep]
    # Strongest first; ties in the order of the record ids, so that the input's order does not matter.
    rank = np.empty(count, dtype=np.int64)
    rank[pc.sort_indices(ids).to_numpy()] = np.arange(count)
    order = np.lexsort((rank[right_at], rank[left_at], -weight))
    left_at, right_at, weight = left_at[order], right_at[order], weight[order]
    # Every scored pair from both ends, grouped by record (compressed rows, in arrays: millions of pairs as
    # Python objects would cost gigabytes). Average linkage sums the pairs between two clusters when a join
    # is weighed.
    ends = np.concatenate([left_at, right_at])
    order = np.argsort(ends, kind="stable")
    neighbours = np.concatenate([right_at, left_at])[order]
    weights = np.concatenate([weight, weight])[order]
    starts = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=count), out=starts[1:])
    # The records of each cluster, kept on its root (None: the root's record alone).
    members: list[list[int] | None] = [None] * count

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def between(ra: int, rb: int) -> tuple[float, int]:
        """The sum and the number of scored pairs between two clusters (roots)."""
        mine, theirs = members[ra] or [ra], members[rb] or [rb]
        if len(theirs) < len(mine):
            ra, rb, mine = rb, ra, theirs
        total, seen = 0.0, 0
        for record in mine:
            lo, hi = int(starts[record]), int(starts[record + 1])
            if lo == hi:
                continue
            for other, p in zip(neighbours[lo:hi].tolist(), weights[lo:hi].tolist(), strict=True):
                if find(other) == rb:
                    total += p
                    seen += 1
        return total, seen

    def join(ra: int, rb: int) -> None:
        """Join two clusters (roots): the larger absorbs the other."""
        mine, theirs = members[ra] or [ra], members[rb] or [rb]
        if len(mine) < len(theirs):
            ra, rb, mine, theirs = rb, ra, theirs, mine
        parent[rb] = ra
        mask[ra] |= mask[rb]
        if low[rb] is not None:
            low[ra] = low[rb] if low[ra] is None else min(low[ra], low[rb])  # type: ignore[type-var]
            high[ra] = high[rb] if high[ra] is None else max(high[ra], high[rb])  # type: ignore[type-var]
        mine.extend(theirs)
        members[ra], members[rb] = mine, None

    for a_id, b_id in must:
        if a_id not in position or b_id not in position:
            continue
        ra, rb = find(position[a_id]), find(position[b_id])
        if ra != rb:
            join(ra, rb)
    refused = 0
    for a, b, p in zip(left_at.tolist(), right_at.tolist(), weight.tolist(), strict=True):
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
        if members[ra] is None and members[rb] is None:
            join(ra, rb)  # two lone records: this pair is the only one between them
            continue
        total, seen = between(ra, rb)
        if seen and total / seen < threshold:
            # Strong here, but the two clusters' other records disagree: joining them would chain.
            continue
        join(ra, rb)
    roots = pa.array([find(i) for i in range(count)], pa.int64())
    # The cluster id is the smallest record id among the cluster's records.
    smallest = pa.table({"root": roots, "id": ids}).group_by("root").aggregate([("id", "min")])
    clusters = smallest["id_min"].take(pc.index_in(roots, value_set=smallest["root"]))
    return pa.table({"record_id": ids, "cluster_id": clusters}), refused


def _positions(ids: pa.Array, wanted: list[str]) -> dict[str, int]:
    """The positions of the ``wanted`` record ids that are among ``ids``."""
    if not wanted:
        return {}
    found = pc.index_in(pa.array(wanted, ids.type), value_set=ids).to_pylist()
    return {record: at for record, at in zip(wanted, found, strict=True) if at is not None}


def _too_far(low: list[int | None], high: list[int | None], a: int, b: int, spread: int) -> bool:
    if low[a] is None or low[b] is None:
        return False
    return max(high[a], high[b]) - min(low[a], low[b]) > spread  # type: ignore[type-var,operator]
