from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from homeward.access.gates import access_staff_by_id, user_roles
from homeward.access.models import ApiToken
from homeward.access.roles import Role
from homeward.access.services import (
    ERR_LAST_ADMIN,
    api_token_create,
    api_token_revoke,
    api_token_user,
    staff_create,
    staff_set_active,
    staff_set_roles,
)
from homeward.audit.models import AuditEvent
from homeward.core.errors import NotFoundError, ValidationError
from tests.conftest import SETUP


def test_staff_create_generates_a_password_and_records_the_event(db: None) -> None:
    user = staff_create(actor=SETUP, username="amina", roles=["registrar", "reviewer"])
    assert len(user.generated_password) >= 20
    assert user.check_password(user.generated_password)
    assert user_roles(user) == {"registrar", "reviewer"}
    event = AuditEvent.objects.get(action="access.staff.created")
    assert event.target_id == str(user.pk)
    assert event.data == {"username": "amina", "roles": ["registrar", "reviewer"]}
    assert user.generated_password not in str(event.data)


def test_each_generated_password_is_new(db: None) -> None:
    a = staff_create(actor=SETUP, username="a1", roles=["analyst"])
    b = staff_create(actor=SETUP, username="a2", roles=["analyst"])
    assert a.generated_password != b.generated_password


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "x", "roles": ["king"]}, "Unknown role king"),
        ({"username": "x", "roles": []}, "at least one role"),
        ({"username": " ", "roles": ["admin"]}, "user name is required"),
        ({"username": "x", "roles": ["admin"], "password": "12345678"}, "too short"),
    ],
)
def test_bad_staff_input_is_refused_and_nothing_is_written(db: None, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        staff_create(actor=SETUP, **kwargs)
    assert not get_user_model().objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_user_name_is_refused_whatever_its_case(db: None) -> None:
    staff_create(actor=SETUP, username="Leyla", roles=["admin"])
    with pytest.raises(ValidationError, match="already taken"):
        staff_create(actor=SETUP, username="leyla", roles=["admin"])


def test_the_last_administrator_cannot_be_removed(make_staff: Any) -> None:
    admin = make_staff(Role.ADMIN)
    with pytest.raises(ValidationError, match=ERR_LAST_ADMIN):
        staff_set_roles(actor=SETUP, user_id=admin.pk, roles=["analyst"])
    with pytest.raises(ValidationError, match=ERR_LAST_ADMIN):
        staff_set_active(actor=SETUP, user_id=admin.pk, active=False)
    assert user_roles(get_user_model().objects.get(pk=admin.pk)) == {"admin"}
    second = make_staff(Role.ADMIN)
    staff_set_active(actor=SETUP, user_id=admin.pk, active=False)
    assert not get_user_model().objects.get(pk=admin.pk).is_active
    assert second.is_active


def test_tokens_act_for_their_owner_until_revoked_or_deactivated(make_staff: Any) -> None:
    user = make_staff(Role.ANALYST)
    make_staff(Role.ADMIN)
    token, secret = api_token_create(actor=SETUP, user_id=user.pk, name="reports")
    assert ApiToken.objects.get(pk=token.pk).digest != secret
    assert secret not in str(list(ApiToken.objects.values()))
    assert api_token_user(secret).pk == user.pk
    api_token_revoke(actor=SETUP, token_id=token.pk)
    assert api_token_user(secret) is None
    _t2, secret2 = api_token_create(actor=SETUP, user_id=user.pk, name="again")
    staff_set_active(actor=SETUP, user_id=user.pk, active=False)
    assert api_token_user(secret2) is None
    assert api_token_user("hwt_not-a-token") is None


def test_reading_a_staff_account_is_audited_and_hidden_from_other_roles(make_staff: Any) -> None:
    admin = make_staff(Role.ADMIN)
    planner = make_staff(Role.PLANNER)
    other = make_staff(Role.ANALYST)
    before = AuditEvent.objects.filter(action="access.staff.viewed").count()
    assert access_staff_by_id(admin, other.pk).pk == other.pk
    assert AuditEvent.objects.filter(action="access.staff.viewed").count() == before + 1
    with pytest.raises(NotFoundError, match="not found"):
        access_staff_by_id(planner, other.pk)
    with pytest.raises(NotFoundError, match="not found"):
        access_staff_by_id(planner, 999_999)


def test_admin_creates_an_account_from_the_page(client_for: Any) -> None:
    client = client_for(Role.ADMIN)
    response = client.post("/staff/new/", {"username": "rauf", "roles": ["planner"]})
    assert response.status_code == 200
    password = response.context["password"]
    user = get_user_model().objects.get(username="rauf")
    assert user.check_password(password)
    assert password.encode() in response.content
    response = client.post("/staff/new/", {"username": "rauf", "roles": ["planner"]})
    assert b"already taken" in response.content


def test_mfa_secret_is_encrypted_in_the_database(make_staff: Any) -> None:
    from django.db import connection

    user = make_staff(Role.ADMIN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE user_id = %s AND type = 'totp'", [user.pk])
        raw = cursor.fetchone()[0]
    assert user.totp_secret not in str(raw)
    assert "hw1:" in str(raw)
    client = Client()
    client.post("/accounts/login/", {"login": user.username, "password": user.test_password})
    from tests.conftest import totp_now

    assert client.post("/accounts/2fa/authenticate/", {"code": totp_now(user.totp_secret)}).status_code == 302
