"""Sign-in as a person does it: password, then the authenticator code; lock-out; idle time-out; headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from homeward.access.roles import Role
from homeward.audit.models import AuditEvent
from tests.conftest import mark_mfa_passed, totp_now


def password_step(client: Client, user: Any, password: str | None = None) -> Any:
    return client.post(
        "/accounts/login/", {"login": user.username, "password": password or user.test_password}, follow=False
    )


def test_sign_in_needs_password_then_code(make_staff: Any) -> None:
    user = make_staff(Role.REGISTRAR)
    client = Client()
    response = password_step(client, user)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    # The password alone does not sign in.
    assert client.get("/").status_code == 302
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(user.totp_secret)})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert b"Dashboard" in page.content
    assert AuditEvent.objects.filter(action="access.session.signed_in", actor_id=user.pk).count() == 1


def test_wrong_code_does_not_sign_in(make_staff: Any) -> None:
    user = make_staff(Role.REGISTRAR)
    client = Client()
    password_step(client, user)
    wrong = f"{(int(totp_now(user.totp_secret)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/2fa/authenticate/", {"code": wrong})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_recovery_code_works_once(make_staff: Any) -> None:
    user = make_staff(Role.ANALYST)
    code = user.recovery_codes[0]
    first = Client()
    password_step(first, user)
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert first.get("/").status_code == 200
    second = Client()
    password_step(second, user)
    assert second.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
    assert second.get("/").status_code == 302


def test_account_without_authenticator_must_set_one_up(make_staff: Any) -> None:
    user = make_staff(Role.PLANNER, mfa=False)
    client = Client()
    response = password_step(client, user)
    assert response.status_code == 302
    for path in ("/", "/jobs/", "/account/tokens/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/"
    # Setting up an authenticator asks for the password once more (allauth's re-authentication).
    response = client.get("/accounts/2fa/totp/activate/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    response = client.post(response["Location"], {"password": user.test_password})
    assert response.status_code == 302
    activate = client.get("/accounts/2fa/totp/activate/")
    assert activate.status_code == 200
    assert b"data:image/svg+xml" in activate.content
    secret = activate.context["form"].secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_totp_cannot_be_removed(make_staff: Any) -> None:
    from allauth.mfa.models import Authenticator

    user = make_staff(Role.ADMIN)
    client = Client()
    password_step(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": totp_now(user.totp_secret)})
    # Re-authenticate as allauth asks, so that the refusal below is Homeward's, not a missing re-authentication.
    reauth = client.get("/accounts/2fa/totp/deactivate/")["Location"]
    client.post(reauth, {"password": user.test_password})
    page = client.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 200
    client.post("/accounts/2fa/totp/deactivate/")
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_lockout_after_five_failures_then_cool_off(make_staff: Any) -> None:
    user = make_staff(Role.REVIEWER)
    client = Client()
    for _ in range(4):
        assert password_step(client, user, "wrong password").status_code == 200
    # The fifth failure locks the account.
    assert password_step(client, user, "wrong password").status_code == 429
    # The right password does not help during the cool-off (allauth's own rate limit answers first)...
    locked = password_step(client, user)
    assert locked.status_code in (200, 429)
    assert b"Too many failed" in locked.content or b"locked" in locked.content.lower()
    assert client.get("/").status_code == 302
    # ...and after it (15 minutes later) it works again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    cache.clear()
    assert password_step(client, user)["Location"] == "/accounts/2fa/authenticate/"


def test_idle_session_ends_after_fifteen_minutes(client_for: Any) -> None:
    client = client_for(Role.ANALYST)
    assert client.get("/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = session.expire_date - timezone.now()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_public_sign_up_is_closed(db: None) -> None:
    response = Client().post(
        "/accounts/signup/", {"username": "x", "password1": "a-long-pass-99", "password2": "a-long-pass-99"}
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="x").exists()
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/", "/jobs/", "/audit/", "/staff/"])
def test_staff_pages_are_never_cached_and_carry_security_headers(client_for: Any, path: str) -> None:
    response = client_for(Role.ADMIN).get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_sign_in_page_has_labelled_fields_and_no_inline_script(db: None) -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert "<script>" not in html
    assert 'autocomplete="current-password"' in html


def test_password_change_through_the_account_page_is_audited(make_staff: Any) -> None:
    user = make_staff(Role.ANALYST)
    client = Client()
    password_step(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": totp_now(user.totp_secret)})
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": user.test_password,
            "password1": "a new long passphrase 77",
            "password2": "a new long passphrase 77",
        },
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="access.account.password_changed", actor_id=user.pk).exists()


def test_api_session_needs_csrf_for_writes_and_an_authenticator(make_staff: Any) -> None:
    user = make_staff(Role.AUDITOR)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    mark_mfa_passed(client, user)
    assert client.get("/api/jobs").status_code == 200
    refused = client.post("/api/audit/verify")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.post("/api/audit/verify", headers={"X-CSRFToken": token}).status_code == 202
    without = make_staff(Role.AUDITOR, mfa=False)
    bare = Client()
    bare.force_login(without, backend="django.contrib.auth.backends.ModelBackend")
    assert bare.get("/api/jobs").status_code == 403


def test_nul_characters_are_refused_before_any_database(client_for: Any) -> None:
    client = client_for(Role.ADMIN)
    assert client.get("/audit/?action=a%00b").status_code == 400
    assert client.post("/staff/new/", {"username": "x\x00y", "roles": ["admin"]}).status_code == 400


def test_nul_characters_in_api_queries_get_a_json_400(token_for: Any) -> None:
    client = Client(headers={"Authorization": f"Bearer {token_for(Role.ADMIN)}"})
    response = client.get("/api/audit/events?actor=a%00")
    assert response.status_code == 400
    assert response.json() == {"detail": "NUL characters are not accepted"}


def test_a_code_from_the_previous_thirty_seconds_is_still_accepted(make_staff: Any) -> None:
    import time

    from allauth.mfa.totp.internal.auth import hotp_value

    user = make_staff(Role.REGISTRAR)
    client = Client()
    password_step(client, user)
    previous = f"{hotp_value(user.totp_secret, int(time.time()) // 30 - 1):06d}"
    assert client.post("/accounts/2fa/authenticate/", {"code": previous}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_session_that_never_passed_the_second_factor_is_ended(make_staff: Any) -> None:
    user = make_staff(Role.ANALYST, mfa=False)
    client = Client()
    password_step(client, user)  # signed in with the password alone: no authenticator yet
    from homeward.access.services import staff_enroll_totp

    staff_enroll_totp(actor=user, user_id=user.pk)  # an administrator enrols one for the account
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/api/me").status_code == 401


def test_setting_up_the_authenticator_in_the_session_counts_as_passing_it(make_staff: Any) -> None:
    user = make_staff(Role.PLANNER, mfa=False)
    client = Client()
    password_step(client, user)
    reauth = client.get("/accounts/2fa/totp/activate/")["Location"]
    client.post(reauth, {"password": user.test_password})
    secret = client.get("/accounts/2fa/totp/activate/").context["form"].secret
    client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert client.get("/").status_code == 200
