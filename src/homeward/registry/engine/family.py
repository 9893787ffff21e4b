"""The family graph: generations from displaced ancestors, cycles, impossible links. Pure Python.

A person is of generation 0 if displaced themselves (from the origin region, during a qualifying event),
and of generation ``n`` if the nearest such ancestor, through either parent, is ``n`` parent links up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeward.core.partialdate import PartialDate


@dataclass(frozen=True, slots=True)
class Generations:
    """Generation of each reachable person; ``via`` is the parent through whom it was reached."""

    generation: dict[int, int]
    via: dict[int, int]


def compute_generations(roots: Iterable[int], parent_child: Iterable[tuple[int, int]]) -> Generations:
    """Breadth-first from the displaced: each person gets the shortest parent-chain distance to one."""
    children: dict[int, list[int]] = {}
    for parent, child in parent_child:
        found = children.get(parent)
        if found is None:
            children[parent] = [child]
        else:
            found.append(child)
    generation: dict[int, int] = {}
    via: dict[int, int] = {}
    queue: deque[int] = deque()
    for root in roots:
        if root not in generation:
            generation[root] = 0
            queue.append(root)
    pop, push, kids_of = queue.popleft, queue.append, children.get
    while queue:
        person = pop()
        kids = kids_of(person)
        if not kids:
            continue
        next_generation = generation[person] + 1
        for kid in kids:
            if kid not in generation:
                generation[kid] = next_generation
                via[kid] = person
                push(kid)
    return Generations(generation=generation, via=via)


def find_cycles(parent_child: Iterable[tuple[int, int]]) -> set[int]:
    """The persons that lie on a cycle of parent links (Kahn's algorithm: what cannot be peeled off)."""
    children: dict[int, list[int]] = {}
    indegree: dict[int, int] = {}
    for parent, child in parent_child:
        children.setdefault(parent, []).append(child)
        indegree[child] = indegree.get(child, 0) + 1
        indegree.setdefault(parent, 0)
    queue = deque(person for person, degree in indegree.items() if degree == 0)
    while queue:
        person = queue.popleft()
        for kid in children.get(person, ()):
            indegree[kid] -= 1
            if indegree[kid] == 0:
                queue.append(kid)
    remaining = {person for person, degree in indegree.items() if degree > 0}
    # What is left is cycles plus the descendants hanging off them: keep only nodes that reach themselves.
    on_cycle: set[int] = set()
    for start in remaining:
        if start in on_cycle:
            continue
        seen = {start}
        stack = [start]
        while stack:
            node = stack.pop()
            for kid in children.get(node, ()):
                if kid == start:
                    on_cycle.add(start)
                    stack.clear()
                    break
                if kid in remaining and kid not in seen:
                    seen.add(kid)
                    stack.append(kid)
    return on_cycle


def is_ancestor(candidate: int, person: int, parents_of: Callable[[list[int]], Iterable[int]], limit: int = 64) -> bool:
    """Whether ``candidate`` is ``person`` or one of their ancestors, walking up at most ``limit`` generations.

    ``parents_of`` returns the parents of a list of persons (one query per generation).
    """
    frontier = [person]
    seen = {person}
    for _ in range(limit):
        if candidate in frontier:
            return True
        parents = [p for p in parents_of(frontier) if p not in seen]
        if not parents:
            return False
        seen.update(parents)
        frontier = parents
    return candidate in frontier


def parent_born_after_child(parent_birth: PartialDate | None, child_birth: PartialDate | None) -> bool:
    """True only when the dates prove it: the parent's earliest possible birth is after the child's latest."""
    if parent_birth is None or child_birth is None:
        return False
    return parent_birth.earliest() > child_birth.latest()
