"""Background jobs: creation, the task that runs them, progress, heartbeats and stale detection.

A job kind is registered by the app that owns it with the dotted path of its
handler, ``handler(job, progress) -> dict``. The handler writes through that
app's services; this module only runs it and keeps the Job row current.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.utils import OperationalError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from homeward.core.errors import HomewardError, ValidationError
from homeward.core.models import Job

log = logging.getLogger("homeward.jobs")


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: str
    label: str | Promise


JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(name: str, *, handler: str, label: str | Promise) -> None:
    JOB_KINDS[name] = JobKind(name=name, handler=handler, label=label)


def job_kind_label(kind: str) -> str:
    found = JOB_KINDS.get(kind)
    return str(found.label) if found else kind


def job_enqueue(*, kind: str, params: dict[str, Any], created_by_id: int | None) -> Job:
    """Create the Job and queue its task in the caller's transaction (the caller writes the audit event)."""
    if kind not in JOB_KINDS:
        raise ValidationError(f"unknown job kind {kind!r}")
    if not connection.in_atomic_block:
        raise HomewardError("job_enqueue must run inside the caller's transaction")
    job = Job.objects.create(kind=kind, params=params, created_by_id=created_by_id)
    result = run_job.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)
    return job


class JobProgress:
    """Progress of a running job, kept in memory; the heartbeat thread writes it to the job's row.

    The handler may run inside a long transaction (an import is all or nothing): progress written from
    that transaction would stay invisible until it commits, and on PostgreSQL it would lock the job's row
    against the heartbeat. So the handler's thread never writes the row itself.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.done = job.done
        self.total = job.total
        self.message = job.message
        self.lock = threading.Lock()

    def start(self, total: int | None, message: str = "") -> None:
        with self.lock:
            self.total, self.done, self.message = total, 0, message

    def advance(self, n: int = 1, message: str | None = None) -> None:
        with self.lock:
            self.done += n
            if message is not None:
                self.message = message

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"done": self.done, "total": self.total, "message": self.message[:500]}


class Heartbeat(threading.Thread):
    """From its own connection, every interval: marks the job alive and writes its progress."""

    def __init__(self, job_id: int, interval: float, progress: JobProgress) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.interval = interval
        self.progress = progress
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, state=Job.State.RUNNING).update(
                        heartbeat_at=timezone.now(), **self.progress.snapshot()
                    )
                except OperationalError:
                    # SQLite has one writer: during a long write transaction the beat waits its turn.
                    log.debug("heartbeat of job %s skipped: database busy", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=self.interval + 30)


@task()
def run_job(job_id: int) -> None:
    close_old_connections()
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=now, heartbeat_at=now, worker_pid=os.getpid()
    )
    if not claimed:
        log.warning("job %s was not waiting; not run again", job_id)
        return
    job = Job.objects.get(pk=job_id)
    progress = JobProgress(job)
    beat = Heartbeat(job_id, settings.HOMEWARD_JOB_HEARTBEAT_SECONDS, progress)
    beat.start()
    try:
        handler: Callable[[Job, JobProgress], dict[str, Any] | None] = import_string(JOB_KINDS[job.kind].handler)
        result = handler(job, progress)
    except HomewardError as exc:
        problems = getattr(exc, "problems", None)
        details = (
            {"problems": [{"where": w, "field": f, "reason": r} for w, f, r in problems[:1000]]} if problems else None
        )
        _finish(job_id, progress, state=Job.State.FAILED, error=str(exc), result=details)
    except Exception:
        log.exception("job %s (%s) failed", job_id, job.kind)
        _finish(job_id, progress, state=Job.State.FAILED, error=INTERNAL_ERROR)
    else:
        _finish(job_id, progress, state=Job.State.SUCCEEDED, result=result)
    finally:
        beat.stop()


def _finish(
    job_id: int, progress: JobProgress, *, state: str, error: str = "", result: dict[str, Any] | None = None
) -> None:
    changes: dict[str, Any] = {
        "state": state,
        **progress.snapshot(),
        "error": error,
        "finished_at": timezone.now(),
        "heartbeat_at": timezone.now(),
    }
    if result is not None:
        changes["result"] = result
    with transaction.atomic():
        # Only a job still running ends here: one already recorded as failed (stale) stays failed.
        Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(**changes)


def job_is_stale(job: Job, *, now: datetime | None = None) -> bool:
    """A running job whose worker has stopped beating: shown as failed, never as running forever."""
    if job.state != Job.State.RUNNING:
        return False
    now = now or timezone.now()
    beat = job.heartbeat_at or job.started_at or job.created_at
    return bool(now - beat > settings.HOMEWARD_JOB_STALE_AFTER)


def job_effective_state(job: Job, *, now: datetime | None = None) -> str:
    return str(Job.State.FAILED) if job_is_stale(job, now=now) else str(job.state)


STALE_MESSAGE = gettext_noop("The worker stopped while this job was running.")
INTERNAL_ERROR = gettext_noop("An internal error stopped this job.")


def job_error_text(job: Job) -> str:
    """The job's error in the reader's language; a stale job explains itself."""
    if job_is_stale(job):
        return _(STALE_MESSAGE)
    return _(job.error) if job.error in (STALE_MESSAGE, INTERNAL_ERROR) else job.error


def jobs_fail_stale(*, now: datetime | None = None) -> int:
    """Record as failed every running job whose heartbeat stopped; returns how many."""
    now = now or timezone.now()
    cutoff = now - settings.HOMEWARD_JOB_STALE_AFTER
    with transaction.atomic():
        return Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=cutoff).update(
            state=Job.State.FAILED, error=STALE_MESSAGE, finished_at=now
        )
