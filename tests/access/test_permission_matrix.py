"""Walks every registered page and API operation, for every role and for nobody, and checks allow/deny.

A page or operation that names no capability, and is not in the lists of
public or sign-in pages below, fails this test: every new endpoint needs a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from homeward.access.roles import MATRIX, Cap, Role
from homeward.access.services import api_token_create
from homeward.api.api import api
from homeward.api.auth import Staff
from homeward.core.models import Job
from homeward.gazetteer.models import PlaceName, Settlement
from tests.conftest import SETUP, mark_mfa_passed

# allauth's pages: open to anybody (the way in) or to any signed-in staff member (their own account).
ALLAUTH_PUBLIC = {
    "account_login",
    "account_logout",
    "account_inactive",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",
    "account_email_verification_sent",
}
# Steps of a sign-in under way: without one they send the visitor back to the sign-in page.
ALLAUTH_SIGN_IN_STEPS = {"account_confirm_login_code", "mfa_authenticate"}
ALLAUTH_SIGNED_IN = {
    "account_reauthenticate",
    "account_request_reauthentication_code",
    "account_confirm_reauthentication_code",
    "account_email",
    "account_change_password",
    "account_set_password",
    "mfa_index",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
}
# The API's schema and its documentation page describe the API, not data.
API_PUBLIC_NAMES = {"api:openapi-json", "api:openapi-view", "api:api-root"}
# Pages that only send the visitor on (past the access check) to another page.
REDIRECTS = {"linkage_next"}


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace or "") if x)
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = ":".join(x for x in (namespace, p.name or "") if x)
            yield prefix + str(p.pattern), name, p.callback


PAGES = [(route, name, cb) for route, name, cb in walk(get_resolver().url_patterns) if not name.startswith("api:")]


def rule_of(name: str, callback: Any) -> str | Cap:
    if getattr(callback, "homeward_public", False) or name in ALLAUTH_PUBLIC:
        return "public"
    if name in ALLAUTH_SIGNED_IN:
        return "signed_in"
    if name in ALLAUTH_SIGN_IN_STEPS:
        return "sign_in_step"
    cap = getattr(callback, "homeward_capability", None)
    if cap is None:
        raise AssertionError(f"page {name!r} has no access rule: decorate it with require_capability or public")
    return Cap(cap)


@pytest.mark.parametrize(("route", "name", "callback"), PAGES, ids=[p[1] for p in PAGES])
def test_every_page_has_a_rule(route: str, name: str, callback: Any) -> None:
    assert name, f"the page at {route!r} has no URL name"
    rule_of(name, callback)


def test_every_capability_is_used_and_every_role_appears() -> None:
    used = {rule_of(name, cb) for _r, name, cb in PAGES}
    used |= {op_cap for _m, _p, op_cap, _n in api_operations()}
    assert set(Cap) <= used | {Cap.STAFF_MANAGE}, f"capabilities no endpoint uses: {set(Cap) - used}"
    assert {role for roles in MATRIX.values() for role in roles} == set(Role)


def api_operations() -> list[tuple[str, str, Cap | None, str]]:
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for op in path_view.operations:
                caps = [cb.cap for cb in op.auth_callbacks if isinstance(cb, Staff)]
                assert len(caps) == 1, f"API operation {op.operation_id} ({path}) must use one Staff(Cap) auth"
                assert len(op.auth_callbacks) == 1, f"API operation {op.operation_id} ({path}) has several auths"
                for method in op.methods:
                    found.append((method, (prefix + path).replace("//", "/"), caps[0], op.operation_id))
    return found


def _registry_samples() -> dict[str, int]:
    from datetime import date

    from django.utils import timezone

    from homeward.registry.models import (
        Consent,
        Household,
        ImportBatch,
        InformationSheet,
        Kinship,
        Person,
        Source,
        SubjectRequest,
    )

    source = Source.objects.get_or_create(code="sample", defaults={"name": "sample"})[0]
    batch = ImportBatch.objects.get_or_create(source=source, sha256="0" * 64, defaults={"filename": "s.csv"})[0]
    person = Person.objects.get_or_create(given_name="Sample", surname="Person")[0]
    other = Person.objects.get_or_create(given_name="Sample", surname="Parent")[0]
    link = Kinship.objects.get_or_create(kind="parent", parent=other, child=person)[0]
    household = Household.objects.get_or_create(source=source, external_id="h1")[0]
    consent = Consent.objects.get_or_create(
        person=person,
        purpose="registration",
        defaults={"sheet_version": "1", "channel": "paper", "given_at": timezone.now()},
    )[0]
    request = SubjectRequest.objects.get_or_create(
        person=person, kind="access", defaults={"received_on": date.today(), "due_on": date.today()}
    )[0]
    sheet = InformationSheet.objects.get_or_create(
        version="1", language="en",
        defaults={"title": "Sheet", "body": "Text", "sha256": "0" * 64, "published_at": timezone.now()},
    )[0]  # fmt: skip
    return {
        "person_id": person.pk,
        "sheet_id": sheet.pk,
        "link_id": link.pk,
        "household_id": household.pk,
        "batch_id": batch.pk,
        "consent_id": consent.pk,
        "request_id": request.pk,
        **_linkage_samples(batch, person, other),
    }


def _linkage_samples(batch: Any, person: Any, other: Any) -> dict[str, int]:
    """A pair waiting for review (two records of the sample persons) and a merge of one into the other."""
    from homeward.linkage.models import IdentityChange, LinkageRun, MatchCandidate
    from homeward.registry.models import SourceRecord

    records = [
        SourceRecord.objects.get_or_create(
            source=batch.source, external_id=f"r{n}",
            defaults={"batch": batch, "content_hash": "0", "row_number": n, "person": owner},
        )[0]
        for n, owner in ((1, person), (2, other))
    ]  # fmt: skip
    run = LinkageRun.objects.get_or_create(state=LinkageRun.State.DONE, defaults={"sure": 0.95, "review": 0.5})[0]
    candidate = MatchCandidate.objects.get_or_create(
        record_a=records[0], record_b=records[1], defaults={"run": run, "probability": 0.8, "match_weight": 2.0}
    )[0]
    change = IdentityChange.objects.get_or_create(kind=IdentityChange.Kind.MERGE, person=person, other=other)[0]
    return {"candidate_id": candidate.pk, "change_id": change.pk}


def _census_samples() -> dict[str, Any]:
    from homeward.census.models import CensusRelease
    from homeward.census.services import census_release, census_run

    release = CensusRelease.objects.first()
    if release is None:
        release = census_release(actor=SETUP, snapshot_id=census_run(actor=SETUP).pk).release
    return {"snapshot_id": release.snapshot_id, "release_id": release.pk, "chart": "pyramid"}


def _planning_samples() -> dict[str, Any]:
    import json

    from homeward.planning.models import PlanScenario
    from homeward.planning.services import scenario_import, scenario_solve
    from homeward.planning.solver.files import instance_to_dict
    from homeward.planning.solver.generate import generate

    scenario = PlanScenario.objects.first()
    if scenario is None:
        data = json.dumps(instance_to_dict(generate(settlements=5, persons=500, phases=4, seed=1))).encode()
        scenario = scenario_import(actor=SETUP, data=data)
        scenario_solve(actor=SETUP, scenario_id=scenario.pk, time_limit=1)
    return {"scenario_id": scenario.pk, "kind": "plan"}


def _sample_path(route: str, user: Any) -> str:
    job = Job.objects.create(kind="audit.verify", created_by=user)
    token, _secret = api_token_create(actor=SETUP, user_id=user.pk, name="sample")
    settlement = Settlement.objects.get_or_create(gid="hw:test:1", defaults={"title": "Testkənd"})[0]
    registry = _registry_samples()
    samples = {
        **registry,
        "job_id": job.pk,
        "user_id": user.pk,
        "token_id": token.pk,
        "seq": 1,
        "member": 0,
        "purpose": "contact",
        "settlement_id": settlement.pk,
        "fmt": "csv",
        "name_id": PlaceName.objects.get_or_create(
            settlement=settlement,
            toponym="Testkənd",
            lang="az-Latn",
            defaults={"folded": "testkand", "skeleton": "tstknd"},
        )[0].pk,
    }
    if "snapshot_id" in route or "release_id" in route:
        samples.update(_census_samples())
    if "scenario_id" in route:
        samples.update(_planning_samples())
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(samples[m.group(1)]), route)
    return "/" + path


@pytest.mark.parametrize("role", [*list(Role), None], ids=[*[r.value for r in Role], "anonymous"])
def test_pages_allow_and_deny_by_role(role: Role | None, make_staff: Any) -> None:
    client = Client()
    user = make_staff(role) if role else make_staff(Role.ADMIN)
    if role:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        mark_mfa_passed(client, user)
    failures = []
    for route, name, callback in PAGES:
        if "(?P<" in route or "^" in route:
            continue  # allauth's emailed-key pages: public, checked by name above
        rule = rule_of(name, callback)
        response = client.get(_sample_path(route, user))
        status = response.status_code
        if rule == "sign_in_step":
            ok = status in (200, 302)
        elif rule == "public":
            ok = status != 403 and not (status == 302 and "/accounts/login/" in response.get("Location", ""))
        elif role is None:
            ok = status == 302 and "/accounts/login/" in response["Location"]
        elif rule == "signed_in":
            ok = status != 403
        else:
            allowed = role in MATRIX[rule]
            # 405: a form's target opened with GET; it got past the access check.
            if not allowed:
                ok = status == 403
            elif name in REDIRECTS:
                ok = status == 302 and "/accounts/login/" not in response["Location"]
            else:
                ok = status in (200, 405)
        if not ok:
            failures.append(f"{name} ({route}) as {role or 'anonymous'}: {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [*list(Role), None], ids=[*[r.value for r in Role], "anonymous"])
def test_api_allows_and_denies_by_role(role: Role | None, make_staff: Any) -> None:
    user = make_staff(role or Role.ADMIN)
    _token, secret = api_token_create(actor=SETUP, user_id=user.pk, name="matrix")
    client = Client(headers={"Authorization": f"Bearer {secret}"} if role else {})
    failures = []
    for method, path, cap, operation in api_operations():
        url = "/api" + _sample_path(re.sub(r"\{(\w+)\}", r"<\1>", path).lstrip("/"), user)
        response = getattr(client, method.lower())(url, content_type="application/json")
        status = response.status_code
        if role is None:
            ok = status == 401
        elif role in MATRIX[cap]:
            # 422: the operation needs input this walk does not send; authorisation ran first and passed.
            ok = 200 <= status < 300 or status == 422
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{operation} {method} {url} as {role or 'anonymous'}: {status}")
    assert not failures, "\n".join(failures)


def test_api_schema_and_docs_are_the_only_public_api_urls() -> None:
    named = {name for _r, name, _cb in walk(get_resolver().url_patterns) if name.startswith("api:")}
    operations = {
        f"api:{op.view_func.__name__}"
        for _p, r in api._routers
        for pv in r.path_operations.values()
        for op in pv.operations
    }
    assert named - operations == API_PUBLIC_NAMES
