"""A linkage run started from the review queue's page runs as a background job (``homeward worker``).

The worker closes and reopens database connections, so this test runs on a database that really commits.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from homeward.access.roles import Role
from homeward.audit.models import AuditEvent
from homeward.core.models import Job
from homeward.linkage.models import LinkageRun
from homeward.registry.models import Person, SourceRecord
from tests.linkage.conftest import import_renderings

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_a_run_started_from_the_page_runs_as_a_job(client_for: Any, tmp_path: Path) -> None:
    # Five people, each written by four to six sources in different scripts: too few records to train on.
    rows, truth = import_renderings(tmp_path)
    assert Person.objects.count() == len(rows)
    client = client_for(Role.REGISTRAR)
    response = client.post("/linkage/run/")
    assert response.status_code == 302
    job = Job.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))
    assert (job.kind, job.params, job.created_by_id) == ("linkage.run", {"retrain": False}, client.user.pk)
    assert AuditEvent.objects.filter(action="linkage.run.queued", target_id=str(job.pk)).exists()
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    run = LinkageRun.objects.get()
    assert (run.state, run.started_by_id, run.records, run.trained) == (
        LinkageRun.State.DONE, client.user.pk, len(rows), False,
    )  # fmt: skip
    assert any("too few to train" in notice for notice in run.notices)
    assert job.result is not None
    assert {k: job.result[k] for k in ("run", "records", "merged", "queued", "trained")} == {
        "run": run.pk, "records": len(rows), "merged": run.merged, "queued": run.queued, "trained": False,
    }  # fmt: skip
    assert "eligibility" in job.result  # persons were merged: eligibility brought up to date
    # The renderings of each person became one person, and no two people share one.
    persons: dict[str, set[int]] = defaultdict(set)
    for external_id, person_id in SourceRecord.objects.values_list("external_id", "person_id"):
        persons[truth[external_id]].add(person_id)
    assert run.merged == len(rows) - Person.objects.filter(merged_into__isnull=True).count() > 0
    assert sum(len(p) for p in persons.values()) == len(set().union(*persons.values()))
    assert sum(len(p) == 1 for p in persons.values()) >= 4
