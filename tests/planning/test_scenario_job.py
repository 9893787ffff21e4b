"""A planner imports an instance file from the page and solves it as a background job run by the worker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from homeward.access.roles import Role
from homeward.core.models import Job
from homeward.planning.models import PlanScenario, PlanSolution
from homeward.planning.solver.files import instance_to_dict
from homeward.planning.solver.generate import generate

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_an_imported_file_is_solved_by_the_worker_and_the_job_leads_to_the_plan(client_for: Any) -> None:
    planner = client_for(Role.PLANNER)
    raw = json.dumps(instance_to_dict(generate(settlements=20, persons=4_000, phases=6, seed=3))).encode()
    response = planner.post("/planning/import/", {"file": SimpleUploadedFile("plan.json", raw), "name": "from file"})
    scenario = PlanScenario.objects.get()
    assert (scenario.name, scenario.basis, response["Location"]) == ("from file", "file", f"/planning/{scenario.pk}/")
    response = planner.post(f"/planning/{scenario.pk}/solve/", {"time_limit": "2"})
    job = Job.objects.get(kind="planning.solve")
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    solution = PlanSolution.objects.get()
    assert job.result["solution"] == solution.pk
    assert job.result["valid"] is True
    assert job.done == job.total == 100
    page = planner.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/planning/{scenario.pk}/"' in page
    page = planner.get(f"/planning/{scenario.pk}/").content.decode()
    assert 'class="gantt"' in page
    # A file with a wrong field is refused whole, naming it, and no scenario is made.
    broken = json.loads(raw)
    broken["settlements"][3]["housing"][1] = -5
    response = planner.post("/planning/import/", {"file": SimpleUploadedFile("bad.json", json.dumps(broken).encode())},
                            follow=True)  # fmt: skip
    assert "settlements[3].housing[1]" in response.content.decode()
    assert PlanScenario.objects.count() == 1
