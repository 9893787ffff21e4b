from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from homeward.audit.services import audit_verify_start
from homeward.core import jobs
from homeward.core.jobs import job_effective_state, jobs_fail_stale
from homeward.core.models import Job
from tests.conftest import SETUP


def test_a_queued_job_runs_in_the_worker_and_records_progress(transactional_db: None) -> None:
    job = audit_verify_start(actor=SETUP)
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.total == job.done == 1  # the one audit event written by audit_verify_start
    assert job.result["ok"] is True
    assert job.finished_at is not None


def test_running_job_without_heartbeat_is_shown_failed_and_reaped(db: None) -> None:
    now = timezone.now()
    alive = Job.objects.create(kind="audit.verify", state=Job.State.RUNNING, heartbeat_at=now - timedelta(seconds=5))
    dead = Job.objects.create(kind="audit.verify", state=Job.State.RUNNING, heartbeat_at=now - timedelta(minutes=5))
    assert job_effective_state(alive, now=now) == "running"
    assert job_effective_state(dead, now=now) == "failed"
    assert jobs_fail_stale(now=now) == 1
    dead.refresh_from_db()
    assert dead.state == Job.State.FAILED
    assert "worker stopped" in dead.error
    alive.refresh_from_db()
    assert alive.state == Job.State.RUNNING


def _blocking_handler(job: Job, progress: Any) -> dict[str, Any]:
    progress.start(10, "working")
    progress.advance(3, "three done")
    _blocking_handler.started.set()  # type: ignore[attr-defined]
    _blocking_handler.release.wait(10)  # type: ignore[attr-defined]
    progress.advance(7)
    return {"ok": True}


def _failing_handler(job: Job, progress: Any) -> dict[str, Any]:
    raise ZeroDivisionError("a bug")


@override_settings(HOMEWARD_JOB_HEARTBEAT_SECONDS=0.05)
def test_heartbeat_beats_while_the_handler_works(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.JOB_KINDS, "test.block", jobs.JobKind("test.block", f"{__name__}._blocking_handler", "t"))
    _blocking_handler.started = threading.Event()  # type: ignore[attr-defined]
    _blocking_handler.release = threading.Event()  # type: ignore[attr-defined]
    job = Job.objects.create(kind="test.block")
    runner = threading.Thread(target=jobs.run_job.call, args=(job.pk,))
    runner.start()
    assert _blocking_handler.started.wait(10)  # type: ignore[attr-defined]
    for _ in range(100):  # the heartbeat brings the progress within an interval
        job.refresh_from_db()
        if job.done == 3:
            break
        threading.Event().wait(0.05)
    first_beat = job.heartbeat_at
    assert job.state == Job.State.RUNNING
    assert (job.done, job.total, job.message) == (3, 10, "three done")
    for _ in range(100):
        job.refresh_from_db()
        if job.heartbeat_at != first_beat:
            break
        threading.Event().wait(0.05)
    assert job.heartbeat_at > first_beat
    _blocking_handler.release.set()  # type: ignore[attr-defined]
    runner.join(10)
    job.refresh_from_db()
    assert (job.state, job.done, job.total) == (Job.State.SUCCEEDED, 10, 10)


def test_a_crashing_handler_fails_the_job_without_leaking_details(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(jobs.JOB_KINDS, "test.fail", jobs.JobKind("test.fail", f"{__name__}._failing_handler", "t"))
    job = Job.objects.create(kind="test.fail")
    jobs.run_job.call(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error == "An internal error stopped this job."
    assert "ZeroDivision" not in job.error


def test_job_page_polls_until_the_job_ends(client_for: Any) -> None:
    client = client_for("admin")
    job = Job.objects.create(
        kind="audit.verify",
        created_by=client.user,
        state=Job.State.RUNNING,
        done=5,
        total=20,
        heartbeat_at=timezone.now(),
    )
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'hx-get="/jobs/{job.pk}/progress/"' in html
    assert 'max="20"' in html
    assert 'value="5"' in html
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, done=20, result={"ok": True, "checked": 20})
    html = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert "hx-get" not in html
    assert "The audit chain is intact: 20 events checked." in html


def test_a_job_is_visible_to_its_owner_and_administrators_only(client_for: Any) -> None:
    owner = client_for("planner")
    other = client_for("planner")
    job = Job.objects.create(kind="audit.verify", created_by=owner.user)
    assert owner.get(f"/jobs/{job.pk}/").status_code == 200
    assert other.get(f"/jobs/{job.pk}/").status_code == 404
    assert client_for("admin").get(f"/jobs/{job.pk}/").status_code == 200


def test_polling_a_job_page_does_not_keep_the_session_alive(client_for: Any) -> None:
    from django.contrib.sessions.models import Session

    client = client_for("admin")
    job = Job.objects.create(kind="audit.verify", created_by=client.user, state=Job.State.RUNNING,
                             heartbeat_at=timezone.now())  # fmt: skip
    client.get(f"/jobs/{job.pk}/")
    key = client.session.session_key
    soon = timezone.now() + timedelta(minutes=1)
    Session.objects.filter(pk=key).update(expire_date=soon)
    poll = {"HX-Request": "true", "X-Homeward-Poll": "1", "HX-Current-URL": f"http://testserver/jobs/{job.pk}/"}
    assert client.get(f"/jobs/{job.pk}/progress/", headers=poll).status_code == 200
    assert Session.objects.get(pk=key).expire_date == soon
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = client.get(f"/jobs/{job.pk}/progress/", headers=poll)
    assert expired.status_code == 204
    assert expired["HX-Redirect"] == f"/accounts/login/?next=/jobs/{job.pk}/"
