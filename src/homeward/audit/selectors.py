"""Reading and verifying the audit log."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from homeward.audit.chain import ChainRow, Problem, anchor_mac, verify_rows
from homeward.audit.models import AuditEvent
from homeward.core.crypto import current_keyring
from homeward.core.errors import HomewardError
from homeward.core.progress import NullProgress, Progress

_FIELDS = ("seq", "at", "actor_id", "actor_label", "action", "target_type", "target_id", "data", "key_id")


@dataclass
class VerifyReport:
    checked: int = 0
    last_seq: int = 0
    last_hash: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in self.problems[:1000]],
            "problem_count": len(self.problems),
        }


def _rows(batch: int) -> Iterator[ChainRow]:
    after = 0
    while True:
        chunk = list(
            AuditEvent.objects.filter(seq__gt=after).order_by("seq").values_list(*_FIELDS, "prev_hash", "hash")[:batch]
        )
        if not chunk:
            return
        for values in chunk:
            yield ChainRow(*values)
        after = chunk[-1][0]


def anchor_path() -> Path:
    return Path(settings.VAR_DIR) / "audit-anchor.json"


def audit_anchor() -> tuple[int, str] | None:
    """The chain head kept outside the database by the last successful check, if its MAC holds."""
    path = anchor_path()
    if not path.exists():
        return None
    ring = current_keyring()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        seq, head, key_id, mac = int(doc["seq"]), str(doc["hash"]), str(doc["key_id"]), str(doc["mac"])
    except (OSError, ValueError, KeyError, TypeError):
        raise HomewardError(f"the audit anchor {path} is unreadable; it was damaged or altered") from None
    key = ring.audit_keys.get(key_id)
    if key is None or not hmac.compare_digest(mac, anchor_mac(key, seq, head)):
        raise HomewardError(f"the audit anchor {path} does not verify; it was altered")
    return seq, head


def audit_chain_verify(
    *, progress: Progress | None = None, batch: int = 5000, expect: tuple[int, str] | None = None
) -> VerifyReport:
    """Check every event; also that the chain still reaches the head kept by the last check (the anchor)
    and, when given, the head an operator kept (``expect``), so that deleting the newest events shows."""
    progress = progress or NullProgress()
    report = VerifyReport()
    progress.start(AuditEvent.objects.count(), "verifying the audit chain")
    keys = current_keyring().audit_keys
    heads = [h for h in (audit_anchor(), expect) if h is not None]
    seen: dict[int, str] = {}
    for item in verify_rows(_rows(batch), keys):
        if isinstance(item, Problem):
            report.problems.append(item)
            continue
        report.checked += 1
        report.last_seq, report.last_hash = item.seq, item.hash
        if any(seq == item.seq for seq, _h in heads):
            seen[item.seq] = item.hash
        progress.advance(1)
    for seq, head in heads:
        if seq > report.last_seq:
            report.problems.append(
                Problem(seq, "truncated", f"rows {report.last_seq + 1}-{seq} were deleted from the end of the chain")
            )
        elif seen.get(seq) != head:
            report.problems.append(Problem(seq, "edited", f"row {seq} is not the row kept as the chain's head"))
    return report


def audit_events(
    *, action_prefix: str = "", actor: str = "", target_type: str = "", target_id: str = ""
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    if actor:
        events = events.filter(actor_label=actor)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events.order_by("-seq")
