"""Writing audit events: only ever inside the transaction of the write (or read) being audited."""

from __future__ import annotations

import json
import os
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from homeward.audit.chain import GENESIS, anchor_mac, canonical_json, chain_hash
from homeward.audit.models import AuditEvent
from homeward.audit.selectors import anchor_path, audit_anchor
from homeward.core.crypto import current_keyring
from homeward.core.errors import HomewardError
from homeward.core.jobs import job_enqueue

# An arbitrary constant naming the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK = 0x486F6D65_77617264 & 0x7FFFFFFFFFFFFFFF


class Actor:
    """Who did something: a signed-in person, or the system acting for a named command."""

    def __init__(self, *, user_id: int | None, label: str) -> None:
        self.user_id = user_id
        self.label = label

    def __repr__(self) -> str:
        return f"Actor({self.label!r})"


def actor_of(user: Any) -> Actor:
    if isinstance(user, Actor):
        return user
    if user is None or not getattr(user, "is_authenticated", False):
        raise HomewardError("an audited action needs a signed-in actor")
    return Actor(user_id=int(user.pk), label=str(user.get_username()))


def system_actor(label: str) -> Actor:
    return Actor(user_id=None, label=f"system:{label}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction; never skips silently."""
    return audit_record_many(actor=actor, events=[{"action": action, "target": target, "target_type": target_type,
                                                   "target_id": target_id, "data": data}])[0]  # fmt: skip


def audit_record_many(*, actor: Any, events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events of one actor to the chain in order, in the caller's transaction, with one look at
    the chain's end and one insert: what a service that records many things at once writes. Each event is a
    dict of ``action`` and optionally ``target`` (a model instance), ``target_type``, ``target_id``, ``data``."""
    if not events:
        return []
    if not connection.in_atomic_block:
        raise HomewardError(f"audit_record({events[0]['action']}) must be called inside the service's transaction")
    who = actor_of(actor)
    ring = current_keyring()
    key_id = ring.active_audit_key
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    seq = last["seq"] if last else 0
    prev_hash = last["hash"] if last else GENESIS
    made = []
    now = timezone.now()
    for event in events:
        target = event.get("target")
        target_type, target_id = event.get("target_type") or "", event.get("target_id") or ""
        if target is not None:
            target_type = target_type or f"{target._meta.app_label}.{target._meta.model_name}"
            target_id = target_id or target.pk
        seq += 1
        content = {
            "seq": seq,
            "at": now,
            "actor_id": who.user_id,
            "actor_label": who.label,
            "action": event["action"],
            "target_type": target_type,
            "target_id": str(target_id),
            "data": _json_safe(event.get("data") or {}),
        }
        digest = chain_hash(ring.audit_keys[key_id], prev_hash, canonical_json(**content))
        made.append(AuditEvent(**content, key_id=key_id, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    if len(made) == 1:
        made[0].save(force_insert=True)
        return made
    return AuditEvent.objects.bulk_create(made)


def audit_verify_start(*, actor: Any) -> Any:
    """Queue a full check of the chain as a background job; returns the Job."""
    who = actor_of(actor)
    with transaction.atomic():
        job = job_enqueue(kind="audit.verify", params={}, created_by_id=who.user_id)
        audit_record(actor=who, action="audit.verify.started", target=job)
    return job


def audit_anchor_advance(report: Any) -> None:
    """Keep the verified chain head outside the database (never moving it backwards).

    A later check fails if the chain no longer reaches this row: deleting the newest events shows.
    """
    if not report.ok or report.last_seq == 0:
        return
    current = audit_anchor()
    if current is not None and current[0] >= report.last_seq:
        return
    ring = current_keyring()
    key_id = ring.active_audit_key
    doc = {
        "seq": report.last_seq,
        "hash": report.last_hash,
        "key_id": key_id,
        "mac": anchor_mac(ring.audit_keys[key_id], report.last_seq, report.last_hash),
    }
    path = anchor_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
