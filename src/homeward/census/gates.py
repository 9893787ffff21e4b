"""Fetches of a census snapshot's exact counts: same error for missing and forbidden, reads audited.

A snapshot holds no names, but its exact tables have cells of one or two persons, which can point at a
family; so who read them, and when, is recorded like any read of personal data. Public releases are
disclosure-controlled and are read without a record.
"""

from __future__ import annotations

from typing import Any

from homeward.access.gates import actor_can, audited_read
from homeward.access.roles import Cap
from homeward.census.models import CensusSnapshot
from homeward.core.errors import NotFoundError


def access_snapshot_by_id(actor: Any, snapshot_id: int, *, purpose: str = "page") -> CensusSnapshot:
    """The snapshot whose exact tables ``actor`` is about to see (``purpose``: the page or a chart)."""
    snapshot = CensusSnapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None or not actor_can(actor, Cap.CENSUS_EXACT):
        raise NotFoundError(f"census snapshot {snapshot_id} not found")
    audited_read(actor, snapshot, "census.snapshot.viewed", {"purpose": purpose})
    return snapshot
