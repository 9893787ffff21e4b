"""An attacker's recovery of withheld cells, written apart from the code under test: every cell of every
published table of a universe is an unknown; a published cell lies within its rounding and is 0 or at least
the threshold (the rules are published); totals add up along every dimension, and settlements add up to
districts. Linear programming (HiGHS through SciPy) gives each withheld cell's lowest and highest value."""

from __future__ import annotations

from itertools import product

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from homeward.census.engine.disclosure import PRIMARY, Protected
from homeward.census.engine.tables import TOTAL, UNKNOWN


def reader_range(shown: int, threshold: int, base: int) -> tuple[int, int]:
    """The true counts that a published count can stand for."""
    possible = [v for v in range(max(0, shown - base), shown + base + 1)
                if (v + base // 2) // base * base == shown and (v == 0 or v >= threshold)]  # fmt: skip
    return min(possible), max(possible)


def recover(
    published: list[Protected], parents: dict[str, str] | None = None, *, threshold: int = 10, rounding: int = 5
) -> dict[tuple, tuple[float, float]]:
    """(lowest, highest) per withheld primary cell, keyed by (table code, categories)."""
    shown = [p for p in published if not p.withheld]
    index: dict[tuple, int] = {}
    fixed: dict[int, int] = {}
    rows: list[list[tuple[int, float]]] = []
    cells_of: dict[tuple, int] = {}
    for p in shown:
        t = p.table
        axes = [t.axis(i) for i in range(len(t.categories))]
        for pos, cats in zip(np.ndindex(*t.values.shape), product(*axes), strict=True):
            # The same count in two tables of one universe is one unknown.
            parts = frozenset((d, c) for d, c in zip(t.definition.dims, cats, strict=True) if c != TOTAL)
            key = (t.definition.universe, parts)
            var = index.setdefault(key, len(index))
            cells_of[(t.code, cats)] = var
            if p.published[pos] >= 0:
                fixed[var] = int(p.published[pos])
        for axis in range(len(axes)):
            for other in product(*[range(len(a)) for i, a in enumerate(axes) if i != axis]):
                line = []
                for k in range(len(axes[axis])):
                    pos = list(other)
                    pos.insert(axis, k)
                    cats = tuple(axes[i][j] for i, j in enumerate(pos))
                    line.append((cells_of[(t.code, cats)], -1.0 if k == len(axes[axis]) - 1 else 1.0))
                rows.append(line)
    if parents:
        children: dict[tuple, list[int]] = {}
        for (universe, parts), var in index.items():
            d = dict(parts)
            if "settlement" in d and "district" not in d:
                d["district"] = parents.get(d.pop("settlement"), UNKNOWN)
                children.setdefault((universe, frozenset(d.items())), []).append(var)
        for key, kids in children.items():
            if key in index:
                rows.append([(k, 1.0) for k in kids] + [(index[key], -1.0)])
    n = len(index)
    r, c, v = [], [], []
    for i, line in enumerate(rows):
        for var, coef in line:
            r.append(i)
            c.append(var)
            v.append(coef)
    a = coo_matrix((v, (r, c)), shape=(len(rows), n)).tocsr()
    # Zeros are published, so a withheld count is at least 1.
    bounds = [reader_range(fixed[i], threshold, rounding) if i in fixed else (1, None) for i in range(n)]
    out = {}
    for p in shown:
        t = p.table
        axes = [t.axis(i) for i in range(len(t.categories))]
        for pos, cats in zip(np.ndindex(*t.values.shape), product(*axes), strict=True):
            if p.status[pos] != PRIMARY:
                continue
            var = cells_of[(t.code, cats)]
            objective = np.zeros(n)
            objective[var] = 1.0
            low = linprog(objective, A_eq=a, b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
            high = linprog(-objective, A_eq=a, b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
            assert low.status == 0
            out[(t.code, cats)] = (low.fun, float("inf") if high.status == 3 else -high.fun)
    return out
