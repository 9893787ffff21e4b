from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from homeward.audit.models import AuditEvent


def test_not_found_page_reveals_nothing(db: None) -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html
    for leak in ("Traceback", "urlpatterns", "Django", "DEBUG", "homeward.urls"):
        assert leak not in html


@override_settings(ROOT_URLCONF="tests.web.failing_urls")
def test_server_error_page_reveals_nothing(db: None) -> None:
    response = Client(raise_request_exception=False).get("/explode/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "Nothing was changed" in html
    assert "secret internal detail" not in html
    assert "RuntimeError" not in html


def test_forbidden_page_explains_without_detail(client_for: Any) -> None:
    response = client_for("planner").get("/audit/")
    assert response.status_code == 403
    assert "Your role does not allow you to open this page" in response.content.decode()


def test_healthz_answers_without_signing_in(db: None) -> None:
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_dashboard_shows_figures_and_the_last_chain_check(client_for: Any) -> None:
    client = client_for("admin")
    html = client.get("/").content.decode()
    assert "the audit chain has not been checked yet" in html
    assert "active staff accounts" in html
    assert "Check the audit chain now" in html


def test_dashboard_of_a_role_without_audit_rights_offers_no_check(client_for: Any) -> None:
    html = client_for("planner").get("/").content.decode()
    assert "Check the audit chain now" not in html
    assert 'href="/audit/"' not in html


def test_starting_the_check_from_the_page_is_audited(client_for: Any) -> None:
    client = client_for("auditor")
    response = client.post("/audit/verify/")
    assert response.status_code == 302
    assert response["Location"].startswith("/jobs/")
    event = AuditEvent.objects.get(action="audit.verify.started")
    assert event.actor_id == client.user.pk


@pytest.mark.parametrize("query", ["action=access.staff", "actor=nobody", "target_type=auth.user"])
def test_audit_log_filters(client_for: Any, query: str) -> None:
    client = client_for("admin")
    html = client.get(f"/audit/?{query}").content.decode()
    if "nobody" in query:
        assert "No events match." in html
    else:
        assert "access.staff.created" in html
