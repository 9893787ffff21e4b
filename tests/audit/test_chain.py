from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from homeward.audit.models import AuditEvent
from homeward.audit.selectors import audit_chain_verify
from homeward.audit.services import audit_anchor_advance, audit_record, system_actor
from homeward.core.errors import HomewardError

ACTOR = system_actor("test")


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(actor=ACTOR, action="test.thing.done", target_type="test.thing", target_id=i, data={"i": i})


@contextmanager
def triggers_disabled() -> Iterator[None]:
    """What an intruder with database access would do first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditevent_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditevent_no_delete")
    yield


def tamper(sql: str, params: list[object] | None = None) -> None:
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def chain(db: None) -> None:
    _record(6)


def test_intact_chain_verifies(chain: None) -> None:
    report = audit_chain_verify()
    assert report.ok
    assert report.checked == 6
    assert report.last_seq == 6


def test_database_refuses_update_and_delete(chain: None) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    assert audit_chain_verify().ok


def test_edited_row_is_named(chain: None) -> None:
    tamper("UPDATE audit_auditevent SET data = %s WHERE seq = 3", ['{"i": 99}'])
    report = audit_chain_verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "edited")]


def test_edited_actor_is_named(chain: None) -> None:
    tamper("UPDATE audit_auditevent SET actor_label = 'someone-else' WHERE seq = 5")
    assert [(p.seq, p.kind) for p in audit_chain_verify().problems] == [(5, "edited")]


def test_deleted_row_is_named(chain: None) -> None:
    tamper("DELETE FROM audit_auditevent WHERE seq = 4")
    report = audit_chain_verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(5, "missing")]
    assert "row(s) 4 deleted" in report.problems[0].detail


def test_reordered_rows_are_named(chain: None) -> None:
    # Swap the content of rows 2 and 3, keeping each row's own hash consistent with its (new) seq would need the
    # key; without it the intruder can only move rows, which breaks both.
    tamper(
        "UPDATE audit_auditevent SET seq = CASE seq WHEN 2 THEN 1002 WHEN 3 THEN 1003 ELSE seq END WHERE seq IN (2, 3)"
    )
    tamper("UPDATE audit_auditevent SET seq = CASE seq WHEN 1002 THEN 3 WHEN 1003 THEN 2 END WHERE seq > 1000")
    kinds = {(p.seq, p.kind) for p in audit_chain_verify().problems}
    assert (2, "edited") in kinds
    assert (3, "edited") in kinds


def test_row_rehashed_without_the_key_is_detected(chain: None) -> None:
    # Recomputing a plain SHA-256 does not help an intruder: the chain is keyed.
    tamper("UPDATE audit_auditevent SET hash = %s WHERE seq = 6", ["0" * 64])
    assert [(p.seq, p.kind) for p in audit_chain_verify().problems] == [(6, "edited")]


def test_row_replaced_in_the_middle_breaks_the_link(chain: None) -> None:
    # Row 4 pointed at another predecessor: its content no longer matches and the link is broken.
    tamper("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = 4", ["f" * 64])
    kinds = {(p.seq, p.kind) for p in audit_chain_verify().problems}
    assert (4, "edited") in kinds
    assert (4, "reordered") in kinds


def test_audit_record_refuses_to_run_outside_a_transaction(transactional_db: None) -> None:
    with pytest.raises(HomewardError, match="inside the service's transaction"):
        audit_record(actor=ACTOR, action="test.outside")


def test_audit_record_needs_an_actor(db: None) -> None:
    with pytest.raises(HomewardError, match="signed-in actor"), transaction.atomic():
        audit_record(actor=None, action="test.anonymous")


def test_rolled_back_write_leaves_no_event_and_no_gap(db: None) -> None:
    _record(2)

    def failing_write() -> None:
        with transaction.atomic():
            audit_record(actor=ACTOR, action="test.rolled_back")
            raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError):
        failing_write()
    _record(1)
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]
    assert audit_chain_verify().ok


def test_deleting_the_newest_events_is_caught_by_the_anchor(chain: None) -> None:
    report = audit_chain_verify()
    audit_anchor_advance(report)
    tamper("DELETE FROM audit_auditevent WHERE seq >= 5")
    problems = audit_chain_verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(6, "truncated")]
    assert "rows 5-6 were deleted" in problems[0].detail


def test_an_operator_kept_head_catches_truncation_without_an_anchor(chain: None) -> None:
    head = audit_chain_verify()
    tamper("DELETE FROM audit_auditevent WHERE seq = 6")
    assert audit_chain_verify().ok  # the chain alone cannot tell
    problems = audit_chain_verify(expect=(head.last_seq, head.last_hash)).problems
    assert [(p.seq, p.kind) for p in problems] == [(6, "truncated")]


def test_a_forged_anchor_is_refused(chain: None, settings: Any) -> None:
    audit_anchor_advance(audit_chain_verify())
    path = Path(settings.VAR_DIR) / "audit-anchor.json"
    doc = json.loads(path.read_text())
    doc["seq"] = 3
    path.write_text(json.dumps(doc))
    with pytest.raises(HomewardError, match="does not verify"):
        audit_chain_verify()


def test_cli_verify_reports_and_fails_on_a_broken_chain(chain: None, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("audit", "verify")
    assert "audit chain intact: 6 events checked" in capsys.readouterr().out
    tamper("DELETE FROM audit_auditevent WHERE seq = 2")
    with pytest.raises(CommandError, match="audit chain broken: 1 problem"):
        call_command("audit", "verify")
    assert "missing: row(s) 2 deleted before row 3" in capsys.readouterr().out
