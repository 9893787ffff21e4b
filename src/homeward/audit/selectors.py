"""Reading and verifying the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from homeward.audit.chain import ChainRow, Problem, verify_rows
from homeward.audit.models import AuditEvent
from homeward.core.crypto import current_keyring
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


def audit_chain_verify(*, progress: Progress | None = None, batch: int = 5000) -> VerifyReport:
    progress = progress or NullProgress()
    report = VerifyReport()
    progress.start(AuditEvent.objects.count(), "verifying the audit chain")
    keys = current_keyring().audit_keys
    last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    for item in verify_rows(_rows(batch), keys):
        if isinstance(item, Problem):
            report.problems.append(item)
        else:
            report.checked += 1
            progress.advance(1)
    if last:
        report.last_seq, report.last_hash = last["seq"], last["hash"]
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
