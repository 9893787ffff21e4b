"""Statistical disclosure control for published census tables. No Django.

Three steps, in this order:

1. **Primary suppression**: every count from 1 to ``threshold - 1`` is withheld (zeros are shown).
2. **Rounding**: published counts are rounded to the nearest multiple of ``rounding``.
3. **Secondary suppression**: further cells are withheld until no withheld count can be narrowed down from
   what is published. The attacker knows every published (rounded) count, the rounding and threshold
   rules (so a published count is 0 or at least the threshold, within its rounding), the table structure
   (each total is the sum of its categories along every dimension, and a settlement's counts add up to
   its district's), that counts are not negative, and they combine every published table of the same
   universe. Whether a count was withheld as small or to protect another is not published. For each
   withheld small count, linear programming (HiGHS) finds the lowest and highest value consistent with
   all of that; the count is protected when at least ``protection`` + 1 whole values (by default the
   threshold + 1) remain possible. A count not yet protected gets a hypercube of partner cells withheld
   with it (in two dimensions, the other three corners of a rectangle), chosen so the counts that would
   have to shrink to hide it are large enough, with the least information lost. When every relation
   through the hypercube stays within it, the hypercube alone proves the protection (even against exact
   published counts). Withholding more only widens the attacker's ranges, so protected counts stay so.

Cells shared by two tables (the same universe and the same categories, e.g. a district's total) are
withheld in both or in neither, so tables cannot be played against each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from homeward.census.engine.tables import TOTAL, UNKNOWN, CountTable

PUBLISHED, PRIMARY, SECONDARY = "A", "C", "D"  # SDMX observation confidentiality: free, confidential, secondary
# A table in which more than this share of the non-zero cells are below the threshold says little once
# they are withheld, and protecting the rest would withhold most of it: it is withheld whole.
SPARSE_SHARE = 0.5


def gettext_noop(message: str) -> str:
    return message


SPARSE = gettext_noop("most of its counts are below the threshold: the table is withheld whole")


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rules:
    threshold: int = 10
    rounding: int = 5
    protection: int | None = None  # the width an attacker's range must keep; None: the threshold

    def __post_init__(self) -> None:
        for name in ("threshold", "rounding"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > 1000:
                raise RulesError(f"{name}: must be a whole number from 1 to 1000, not {value!r}")
        if self.protection is not None and (not isinstance(self.protection, int) or self.protection < 0):
            raise RulesError(f"protection: must be a whole number of 0 or more, not {self.protection!r}")

    @property
    def width(self) -> int:
        return self.threshold if self.protection is None else self.protection


@dataclass
class Protected:
    table: CountTable
    published: np.ndarray  # the rounded counts; -1 where withheld
    status: np.ndarray  # PUBLISHED, PRIMARY or SECONDARY per cell
    withheld: str = ""  # why the whole table is withheld, if it is


@dataclass
class Audit:
    """What the attacker can infer about each withheld primary cell: (lowest, highest) per cell key."""

    ranges: dict[tuple[tuple[str, str], ...], tuple[float, float]] = field(default_factory=dict)
    linear_programs: int = 0
    rounds: int = 0
    certified: int = 0  # primary cells protected by a hypercube of their own, with no program to solve


Key = tuple[tuple[str, str], ...]


class _Universe:
    """The cells of every table of one universe, as one set of variables with their linear relations."""

    def __init__(self, tables: Sequence[CountTable], parents: dict[str, str]) -> None:
        self.tables = list(tables)
        self.ids: dict[Key, int] = {}
        self.values: list[int] = []
        self.cell_ids: list[np.ndarray] = []
        for table in self.tables:
            axes = [table.axis(i) for i in range(len(table.categories))]
            ids = np.empty(table.values.shape, dtype=np.int64)
            for position, categories in zip(np.ndindex(*table.values.shape), product(*axes), strict=True):
                key = tuple(
                    sorted((d, c) for d, c in zip(table.definition.dims, categories, strict=True) if c != TOTAL)
                )
                value = int(table.values[position])
                known = self.ids.get(key)
                if known is None:
                    known = self.ids[key] = len(self.values)
                    self.values.append(value)
                elif self.values[known] != value:
                    raise ValueError(f"{table.code}: cell {key} differs from the same cell of another table")
                ids[position] = known
            self.cell_ids.append(ids)
        self.parents = parents
        self.solved = 0
        self.keys = list(self.ids)
        self.value = np.array(self.values, dtype=np.int64)
        self.lines = self._lines(parents)
        self.lines_of: list[list[tuple[int, float]]] = [[] for _ in self.keys]
        for n, (members, coefs) in enumerate(self.lines):
            for i, coef in zip(members.tolist(), coefs.tolist(), strict=True):
                self.lines_of[i].append((n, coef))

    def _lines(self, parents: dict[str, str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each relation as (cell ids, coefficients): the categories sum to their total."""
        seen: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        for ids in self.cell_ids:
            for axis in range(ids.ndim):
                moved = np.moveaxis(ids, axis, -1).reshape(-1, ids.shape[axis])
                for line in moved:
                    members = np.array([*line[:-1], line[-1]])
                    coefs = np.array([1.0] * (len(line) - 1) + [-1.0])
                    seen.setdefault(tuple(sorted(line.tolist())), (members, coefs))
        # A district's cells are the sum of its settlements' cells with the same other categories.
        if parents:
            children: dict[Key, list[int]] = {}
            for key, i in self.ids.items():
                parts = dict(key)
                if "settlement" in parts and "district" not in parts:
                    parts["district"] = parents.get(parts.pop("settlement"), UNKNOWN)
                    children.setdefault(tuple(sorted(parts.items())), []).append(i)
            for parent_key, kids in children.items():
                parent = self.ids.get(parent_key)
                if parent is None:
                    continue
                members = np.array([*kids, parent])
                coefs = np.array([1.0] * len(kids) + [-1.0])
                seen.setdefault(tuple(sorted(members.tolist())), (members, coefs))
        return list(seen.values())

    def balanced(self, corners: list[int], signs: list[int]) -> bool:
        """Whether moving the corners by their signs keeps every relation through them true."""
        change: dict[int, float] = {}
        for c, s in zip(corners, signs, strict=True):
            for n, coef in self.lines_of[c]:
                change[n] = change.get(n, 0.0) + s * coef
        return not any(change.values())

    def ranges(self, withheld: np.ndarray, cells: Sequence[int], rules: Rules) -> dict[int, tuple[float, float]]:
        """What the attacker can work out about each of ``cells``: the lowest and highest value consistent with
        the published (rounded) counts, every relation between cells, and counts never being negative. The
        lowest is only sought when the highest alone leaves too little room (otherwise 1 stands for it)."""
        low, high = published_bounds(self.value, withheld, rules)
        rows: list[int] = []
        cols: list[int] = []
        data: list[float] = []
        for r, (members, coefs) in enumerate(self.lines):
            rows.extend([r] * len(members))
            cols.extend(members.tolist())
            data.extend(coefs.tolist())
        a = csr_matrix((data, (rows, cols)), shape=(len(self.lines), len(self.keys)))
        b = np.zeros(len(self.lines))
        bounds = np.column_stack([low, high])
        out = {}
        for cell in cells:
            c = np.zeros(len(self.keys))
            c[cell] = 1.0
            top = self._solve(-c, a, b, bounds)
            highest = float("inf") if top is None else -top
            lowest = 1.0
            if math.floor(highest + 1e-6) - self.value[cell] < rules.width:
                found = self._solve(c, a, b, bounds)
                lowest = 1.0 if found is None else found
            out[cell] = (lowest, highest)
        return out

    def _solve(self, c: np.ndarray, a: csr_matrix, b: np.ndarray, bounds: np.ndarray) -> float | None:
        """The optimum, or None when the objective is unbounded."""
        self.solved += 1
        result = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if result.status == 3:
            return None
        if result.status != 0:
            raise RuntimeError(f"the disclosure audit's linear program failed: {result.message}")
        return float(result.fun)


def published_bounds(values: np.ndarray, withheld: np.ndarray, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """The range a reader can give each count: a withheld one is anything from 1 up; a published one lies
    within its rounding (base 5: 23 to 27 for 25), and is 0 or at least the threshold, since counts in
    between are withheld."""
    base, threshold = rules.rounding, rules.threshold
    shown = _round(values, base)
    low = np.maximum(shown - base // 2, 0).astype(float)
    high = (shown - base // 2 + base - 1).astype(float)
    nonzero = shown > 0
    low[nonzero] = np.maximum(low[nonzero], threshold)
    high[~nonzero] = np.where(high[~nonzero] >= threshold, high[~nonzero], 0)
    # Zeros are shown and never withheld, so a withheld count is at least 1.
    low[withheld] = 1.0
    high[withheld] = np.inf
    return low, high


def _width(low: float, high: float) -> float:
    """The number of whole values between the bounds, less one (the bounds come from a linear relaxation)."""
    return math.floor(high + 1e-6) - math.ceil(low - 1e-6)


def protect(
    tables: Sequence[CountTable], rules: Rules, *, parents: dict[str, str] | None = None
) -> tuple[list[Protected], Audit]:
    """The tables as they may be published, and the attacker's ranges for the withheld primary cells."""
    audit = Audit()
    out: dict[str, Protected] = {}
    by_universe: dict[str, list[CountTable]] = {}
    small: dict[str, np.ndarray] = {}
    for table in tables:
        primary = _small(table, rules.threshold)
        small[table.code] = primary
        nonzero = int((table.values > 0).sum())
        if nonzero and primary.sum() > SPARSE_SHARE * nonzero:
            out[table.code] = Protected(
                table=table,
                published=np.full(table.values.shape, -1, dtype=np.int64),
                status=np.where(primary, PRIMARY, SECONDARY),
                withheld=SPARSE,
            )
            continue
        by_universe.setdefault(table.definition.universe, []).append(table)
    for group in by_universe.values():
        universe = _Universe(group, parents or {})
        primary = (universe.value > 0) & (universe.value < rules.threshold)
        for table, ids in zip(universe.tables, universe.cell_ids, strict=True):
            primary[ids[small[table.code]]] = True  # a count of citations that stands for too few persons
        withheld = primary.copy()
        # Smallest first: their partners are chosen while most cells are still published.
        pending = sorted(np.flatnonzero(primary).tolist(), key=lambda c: (int(universe.value[c]), c))
        tries: dict[int, int] = {}
        while pending:
            audit.rounds += 1
            found = universe.ranges(withheld, pending, rules)
            weak = []
            for cell, (low, high) in found.items():
                audit.ranges[universe.keys[cell]] = (low, high)
                if _width(low, high) < rules.width:
                    weak.append(cell)
            added, still = False, []
            for cell in weak:
                tries[cell] = tries.get(cell, 0) + 1
                if tries[cell] <= SINGLE_TRIES and _withhold_one(universe, withheld, cell, rules.width):
                    added = True
                    still.append(cell)
                    continue
                grew, certified = _withhold_partners(universe, withheld, cell, rules.width)
                added |= grew
                if certified:
                    audit.certified += 1
                    continue
                still.append(cell)
                if grew:
                    continue
                # No hypercube adds anything: withhold every count on the lines through the cell.
                for n, _ in universe.lines_of[cell]:
                    members = universe.lines[n][0]
                    fresh = members[(universe.value[members] > 0) & ~withheld[members]]
                    if len(fresh):
                        withheld[fresh] = True
                        added = True
            pending = still
            if still and not added:
                # Nothing left to add around these cells: withhold every cell of the universe's tables.
                withheld[:] = universe.value > 0
                for cell in still:
                    audit.ranges[universe.keys[cell]] = (0.0, float("inf"))
                break
        audit.linear_programs += universe.solved
        for table, ids in zip(universe.tables, universe.cell_ids, strict=True):
            hidden = withheld[ids]
            status = np.where(primary[ids], PRIMARY, np.where(hidden, SECONDARY, PUBLISHED))
            published = np.where(hidden, -1, _round(table.values, rules.rounding))
            out[table.code] = Protected(table=table, published=published, status=status)
    return [out[t.code] for t in tables], audit


def _small(table: CountTable, threshold: int) -> np.ndarray:
    """The table's cells below the threshold: by their count, and by the distinct persons behind them when
    the table counts citations (two persons citing five conditions each are still two persons)."""
    small = (table.values > 0) & (table.values < threshold)
    if table.persons is not None:
        small |= (table.values > 0) & (table.persons < threshold)
    return small


def _round(values: np.ndarray, base: int) -> np.ndarray:
    if base == 1:
        return values.copy()
    return ((values + base // 2) // base) * base


PARTNERS_PER_AXIS = 5
# A count the rounding leaves too narrow first gets single partners on its lines (often enough, since the
# partner's own rounding widens the range too); after that, hypercubes.
SINGLE_TRIES = 4


def _withhold_one(universe: _Universe, withheld: np.ndarray, cell: int, width: int) -> bool:
    """Withhold the one published count on the cell's lines that hides it best at the least cost: the
    smallest count of at least ``width`` (else the largest there is); categories before totals."""
    best: tuple[tuple[int, int, int], int] | None = None
    for n, _ in universe.lines_of[cell]:
        members, coefs = universe.lines[n]
        for member, coef in zip(members.tolist(), coefs.tolist(), strict=True):
            v = int(universe.value[member])
            if withheld[member] or v == 0:
                continue
            score = (0 if v >= width else 1, 0 if coef > 0 else 1, v if v >= width else -v)
            if best is None or score < best[0]:
                best = (score, member)
    if best is None:
        return False
    withheld[best[1]] = True
    return True


def _withhold_partners(universe: _Universe, withheld: np.ndarray, cell: int, width: int) -> tuple[bool, bool]:
    """Withhold the corners of the best hypercube around ``cell`` in one of its tables.

    A hypercube moves the cell by +d and its corners by +d or -d so that every total stays the same. When
    every relation through its corners balances (none reaches into another table or a district unevenly),
    its corners are all withheld and the corners that shrink hold at least ``width``, the cell is protected
    without solving anything: the hypercube is a certificate. Returns whether any cell was newly withheld,
    and whether the cell now has a certificate.
    """
    value = universe.value
    best: tuple[tuple[int, int, int, int], list[int], bool] | None = None
    for ids, table in zip(universe.cell_ids, universe.tables, strict=True):
        where = np.argwhere(ids == cell)
        if not len(where):
            continue
        position = tuple(int(x) for x in where[0])
        total = [n - 1 for n in ids.shape]
        choices = []
        for axis, at in enumerate(position):
            # Another category, or the total when the cell is a category.
            candidates = [p for p in range(total[axis] + 1) if p != at] if at != total[axis] else list(range(at))
            dim = table.definition.dims[axis]
            home = universe.parents.get(table.axis(axis)[at]) if dim == "settlement" else None

            def rank(
                p: int,
                axis: int = axis,
                dim: str = dim,
                home: str | None = home,
                position: tuple[int, ...] = position,
                ids: np.ndarray = ids,
                table: CountTable = table,
            ) -> tuple[int, int, int]:
                moved = list(position)
                moved[axis] = p
                neighbour = int(ids[tuple(moved)])
                v = int(value[neighbour])
                same = 0 if dim != "settlement" or universe.parents.get(table.axis(axis)[p]) == home else 1
                return (
                    same,
                    0 if v >= width and withheld[neighbour] else 1 if v >= width else 2,
                    v if v >= width else -v,
                )

            choices.append(sorted(candidates, key=rank)[:PARTNERS_PER_AXIS])
        for partner in product(*choices):
            corners, signs = [], []
            for pick in product((0, 1), repeat=len(position)):
                corner = tuple(partner[a] if p else position[a] for a, p in enumerate(pick))
                # A corner moves against the cell when it differs in an odd number of category-category axes.
                sign = 1
                for a, p in enumerate(pick):
                    if p and position[a] != total[a] and partner[a] != total[a]:
                        sign = -sign
                corners.append(int(ids[corner]))
                signs.append(sign)
            balanced = universe.balanced(corners, signs)
            # A shrinking corner, withheld, is known to be at least 1.
            room = min((int(value[c]) for c, s in zip(corners, signs, strict=True) if s < 0), default=1) - 1
            if any(value[c] == 0 for c in corners):
                continue  # a zero is shown, never withheld: it cannot hide anything
            new = sorted({c for c in corners if not withheld[c]})
            certificate = balanced and room >= width
            if not new and not certificate:
                continue  # withholds nothing more and proves nothing
            score = (0 if balanced else 1, 0 if room >= width else 1, int(sum(int(value[c]) for c in new)), len(new))
            if best is None or score < best[0]:
                best = (score, new, certificate)
    if best is None:
        return False, False
    withheld[best[1]] = True
    return bool(best[1]), best[2]
