from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from homeward.audit.models import AuditEvent
from homeward.core.models import Job
from homeward.gazetteer.models import PlaceName, SecurityAssessment, Settlement
from homeward.gazetteer.services import gazetteer_import
from tests.conftest import SETUP
from tests.gazetteer.test_services import RAW, ZANGEZUR


def _zangezur(db: None) -> Settlement:
    gazetteer_import(actor=SETUP, raw=json.dumps(ZANGEZUR).encode())
    return Settlement.objects.get(gid="test:zangezur")


def test_list_searches_in_any_script_and_filters(client_for: Any) -> None:
    client = client_for("analyst")
    gazetteer_import(actor=SETUP, raw=RAW)
    _zangezur(None)
    html = client.get("/gazetteer/?q=Зангезур").content.decode()
    assert "Zəngəzur" in html
    assert "Qarabulaq" not in html
    destroyed = Settlement.objects.filter(status="destroyed")
    html = client.get("/gazetteer/?status=destroyed").content.decode()
    assert destroyed.count() > 0
    assert html.count('<tr><td><a href="/gazetteer/') == min(50, destroyed.count())
    assert Settlement.objects.exclude(status="destroyed").first().title not in html
    suggestions = client.get("/gazetteer/suggest/?q=zangaz").content.decode()
    assert "Zəngəzur" in suggestions


def test_detail_page_shows_names_population_gate_and_map(client_for: Any) -> None:
    client = client_for("planner")
    gazetteer_import(actor=SETUP, raw=RAW)
    settlement = Settlement.objects.filter(population__isnull=False).order_by("gid").first()
    html = client.get(f"/gazetteer/{settlement.pk}/").content.decode()
    for name in settlement.names.all():
        assert name.toponym in html
    assert f'src="/gazetteer/{settlement.pk}/population.svg"' in html
    assert 'id="map"' in html
    assert "nobody may be planned to return here" in html
    svg = client.get(f"/gazetteer/{settlement.pk}/population.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml")
    assert b"<svg" in svg.content


def test_forms_edit_through_services_with_audit(client_for: Any) -> None:
    editor = client_for("registrar")
    settlement = _zangezur(None)
    name = {"toponym": "Zangezour", "lang": "fr", "kind": "transliteration", "start": "", "end": ""}
    response = editor.post(f"/gazetteer/{settlement.pk}/names/", name)
    assert response.status_code == 302
    assert PlaceName.objects.filter(settlement=settlement, toponym="Zangezour").exists()
    bad = editor.post(f"/gazetteer/{settlement.pk}/names/", {"toponym": "X", "lang": "xx-Latn", "kind": "official",
                                                             "start": "1990", "end": "1980"})  # fmt: skip
    assert bad.status_code == 400
    assert "not a known language" in bad.content.decode()
    assert AuditEvent.objects.filter(action="gazetteer.name.added").count() == 1
    # A registrar may not assess security; a planner may.
    form = {"level": "safe", "assessed_on": "2026-10-01", "source": "mission", "note": ""}
    assert editor.post(f"/gazetteer/{settlement.pk}/assessments/", form).status_code == 403
    planner = client_for("planner")
    assert planner.post(f"/gazetteer/{settlement.pk}/assessments/", form).status_code == 302
    assert SecurityAssessment.objects.get().level == "safe"
    assert '<span class="level level-safe">safe</span>' in planner.get(f"/gazetteer/{settlement.pk}/").content.decode()


def test_import_page_runs_a_background_job_and_export_downloads(client_for: Any, transactional_db: None) -> None:
    client = client_for("registrar")
    response = client.post("/gazetteer/import/", {"file": SimpleUploadedFile("g.json", RAW)})
    assert response.status_code == 302
    job = Job.objects.get(kind="gazetteer.import")
    assert response["Location"] == f"/jobs/{job.pk}/"
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert job.result["settlements_created"] == 60
    assert job.done == job.total == 60
    csv = b"".join(client.get("/gazetteer/export/csv/").streaming_content)
    assert csv.decode().count("\n") == 1 + PlaceName.objects.count()
    lpf = client.get("/gazetteer/export/lpf/")
    assert json.loads(lpf.content)["type"] == "FeatureCollection"


def test_a_bad_upload_fails_its_job_with_every_problem(client_for: Any, transactional_db: None) -> None:
    client = client_for("admin")
    bad = b"settlement_id,toponym,lang,latitude,longitude\na,Ad,az,99,40\nb,Ad,zz,40,40\n"
    client.post("/gazetteer/import/", {"file": SimpleUploadedFile("bad.csv", bad)})
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    job = Job.objects.get(kind="gazetteer.import")
    assert job.state == "failed"
    assert "nothing was imported: 2 problem" in job.error
    assert {p["field"] for p in job.result["problems"]} == {"latitude", "lang"}
    assert not Settlement.objects.exists()
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "nothing was imported" in html
