"""The audit chain's hashing and verification, free of Django."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainRow:
    seq: int
    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    data: Any
    key_id: str
    prev_hash: str
    hash: str


def canonical_json(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    data: Any,
) -> str:
    doc = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "data": data,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def chain_hash(key: bytes, prev_hash: str, canonical: str) -> str:
    return hmac.new(key, (prev_hash + "\n" + canonical).encode("utf-8"), hashlib.sha256).hexdigest()


def row_hash(key: bytes, row: ChainRow, prev_hash: str) -> str:
    canonical = canonical_json(
        seq=row.seq,
        at=row.at,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        data=row.data,
    )
    return chain_hash(key, prev_hash, canonical)


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # edited, missing, reordered, unknown-key
    detail: str


def verify_rows(rows: Iterable[ChainRow], keys: dict[str, bytes]) -> Iterator[Problem | ChainRow]:
    """Walk rows in ``seq`` order; yields each problem found, and each row once checked.

    A row is *edited* when its own hash does not match its content, *missing*
    rows leave a gap in ``seq``, and a row whose ``prev_hash`` is not the hash
    of the row before it was *reordered* or had its predecessor replaced.
    """
    expected_seq = 1
    prev_hash = GENESIS
    for row in rows:
        if row.seq > expected_seq:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}-{row.seq - 1}"
            yield Problem(row.seq, "missing", f"row(s) {missing} deleted before row {row.seq}")
        key = keys.get(row.key_id)
        if key is None:
            yield Problem(row.seq, "unknown-key", f"row {row.seq} names audit key {row.key_id!r}, not in the key ring")
        else:
            if row_hash(key, row, row.prev_hash) != row.hash:
                yield Problem(row.seq, "edited", f"row {row.seq} does not match its hash: its content was changed")
            if row.prev_hash != prev_hash and row.seq <= expected_seq:
                yield Problem(
                    row.seq,
                    "reordered",
                    f"row {row.seq} does not follow row {row.seq - 1}: rows were reordered or replaced",
                )
        prev_hash = row.hash
        expected_seq = row.seq + 1
        yield row


def anchor_mac(key: bytes, seq: int, row_hash: str) -> str:
    """The MAC that makes a kept chain head (an anchor) impossible to forge without the audit key."""
    return hmac.new(key, f"anchor\n{seq}\n{row_hash}".encode(), hashlib.sha256).hexdigest()
