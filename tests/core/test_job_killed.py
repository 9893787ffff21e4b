"""A worker killed with SIGKILL in the middle of a job: the job is shown as failed, never as running forever."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import ENV_KEYS

pytestmark = pytest.mark.own_database

# Fills the audit chain with enough events that checking it takes a few seconds, then queues the check.
SEED = """
from datetime import UTC, datetime
from django.db import transaction
from homeward.audit.chain import GENESIS, canonical_json, chain_hash
from homeward.audit.models import AuditEvent
from homeward.audit.services import audit_verify_start, system_actor
from homeward.core.crypto import current_keyring

ring = current_keyring()
key = ring.audit_keys[ring.active_audit_key]
prev, rows, at = GENESIS, [], datetime(2026, 1, 1, tzinfo=UTC)
for seq in range(1, 200_001):
    data = {"i": seq}
    canonical = canonical_json(seq=seq, at=at, actor_id=None, actor_label="system:seed", action="seed.row",
                               target_type="", target_id="", data=data)
    digest = chain_hash(key, prev, canonical)
    rows.append(AuditEvent(seq=seq, at=at, actor_id=None, actor_label="system:seed", action="seed.row",
                           target_type="", target_id="", data=data, key_id=ring.active_audit_key,
                           prev_hash=prev, hash=digest))
    prev = digest
with transaction.atomic():
    AuditEvent.objects.bulk_create(rows, batch_size=5000)
print(audit_verify_start(actor=system_actor("test")).pk)
"""


def homeward(var: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ.update({"HOMEWARD_VAR_DIR": str(var), "HOMEWARD_ENV": "development", "HOMEWARD_JOB_STALE_SECONDS": "2"})
    return subprocess.Popen(
        [sys.executable, "-m", "homeward.cli", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def done(var: Path, *args: str) -> str:
    proc = homeward(var, *args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def test_job_of_a_killed_worker_is_failed_not_running(tmp_path: Path) -> None:
    done(tmp_path, "keys", "init")
    done(tmp_path, "migrate", "--noinput")
    job_id = done(tmp_path, "shell", "-c", SEED).strip().splitlines()[-1]
    worker = homeward(tmp_path, "worker", start_new_session=True)
    database = sqlite3.connect(tmp_path / "homeward.sqlite3", timeout=30)
    try:
        state, done_rows = "", 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state, done_rows = database.execute("SELECT state, done FROM core_job WHERE id = ?", [job_id]).fetchone()
            if state != "queued" and (state != "running" or done_rows > 0):
                break
            time.sleep(0.02)
        # Caught in the middle: running, with some of the 200,000 events checked and not all.
        assert state == "running", state
        assert 0 < done_rows < 200_000
    finally:
        database.close()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=30)
    time.sleep(3)  # longer than HOMEWARD_JOB_STALE_SECONDS: no heartbeat came
    row = next(line for line in done(tmp_path, "jobs", "list").splitlines() if line.split()[0] == job_id)
    assert row.split()[1] == "failed", row
    # The next worker records the failure for good, and does not run the job again.
    done(tmp_path, "worker", "--batch")
    row = next(line for line in done(tmp_path, "jobs", "list").splitlines() if line.split()[0] == job_id)
    assert row.split()[1] == "failed", row
    watch = homeward(tmp_path, "jobs", "watch", job_id)
    _out, err = watch.communicate(timeout=60)
    assert watch.returncode == 1
    assert "The worker stopped while this job was running." in err
