"""Shared fixtures: real staff accounts with real roles and real TOTP authenticators."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import hotp_value
from django.core.cache import cache
from django.db import connection
from django.test import Client

from homeward.access.roles import Role
from homeward.access.services import api_token_create, staff_create, staff_enroll_totp
from homeward.audit.services import system_actor

SETUP = system_actor("test-setup")
_APPEND_ONLY = importlib.import_module("homeward.audit.migrations.0002_append_only")


def _audit_triggers(enable: bool) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditevent {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")
        elif enable:
            for statement in _APPEND_ONLY.SQLITE_FORWARD:
                cursor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
        else:
            for statement in _APPEND_ONLY.SQLITE_BACKWARD:
                cursor.execute(statement)


@pytest.fixture(autouse=True)
def _private_var_dir(settings: Any, tmp_path: Any) -> None:
    """Files a test writes outside the database (stored uploads, the audit anchor) stay in its own folder."""
    settings.VAR_DIR = tmp_path


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """allauth counts sign-ins per address in the cache; every test starts as a new minute would."""
    cache.clear()


@pytest.fixture(autouse=True)
def _audit_table_append_only(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """The append-only triggers hold in every test; tests that flush the database lift them just for the flush."""
    flushes = bool({"transactional_db", "live_server"} & set(request.fixturenames))
    if flushes:
        # Set up the flushing fixture inside this one, so that this one is torn down (and lifts
        # the triggers) before it flushes.
        request.getfixturevalue("transactional_db")
    if flushes or "db" in request.fixturenames:
        with django_db_blocker.unblock():
            _audit_triggers(enable=True)
    yield
    if flushes:
        with django_db_blocker.unblock():
            _audit_triggers(enable=False)


def totp_now(secret: str) -> str:
    """The code an authenticator app would show now (RFC 6238, 30-second steps)."""
    return f"{hotp_value(secret, int(time.time()) // 30):06d}"


def mark_mfa_passed(client: Client, user: Any) -> None:
    """Record in a force_login session what allauth records when the code is entered at sign-in."""
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time(), "type": "totp"}]
    session.save()


class StaffFactory:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *roles: Role | str, mfa: bool = True, username: str | None = None) -> Any:
        self.count += 1
        names = [str(r) for r in roles] or [Role.ADMIN.value]
        user = staff_create(
            actor=SETUP,
            username=username or f"{'-'.join(names)}-{self.count}",
            roles=names,
            password="correct horse battery staple 42",
        )
        user.test_password = "correct horse battery staple 42"
        if mfa:
            user.totp_secret, user.recovery_codes = staff_enroll_totp(actor=SETUP, user_id=user.pk)
        return user


@pytest.fixture
def make_staff(db: Any) -> StaffFactory:
    return StaffFactory()


@pytest.fixture
def sheets(db: Any) -> list[str]:
    """Information sheet versions the tests' consents and intentions are given under, published in English."""
    from homeward.registry.services.sheets import information_sheet_publish

    versions = ["v1", "v2", "2026-1"]
    for version in versions:
        information_sheet_publish(actor=SETUP, version=version, language="en", title=f"Sheet {version}",
                                  body=f"What the registry is for, version {version}.")  # fmt: skip
    return versions


@pytest.fixture
def portal_home(db: Any) -> Any:
    """A home settlement that the portal's search finds by its names in two scripts, and a displacement wave."""
    from homeward.gazetteer.formats import NameRec
    from homeward.gazetteer.models import Settlement
    from homeward.gazetteer.services import place_name_add
    from homeward.registry.models import DisplacementEvent

    settlement = Settlement.objects.create(gid="hw:test:qarabulaq", title="Qarabulaq")
    for toponym, lang in (("Qarabulaq", "az"), ("Карабулак", "ru")):
        place_name_add(actor=SETUP, settlement_id=settlement.pk, name=NameRec(toponym, lang))
    DisplacementEvent.objects.create(code="wave-1", label="First wave")
    return settlement


@pytest.fixture
def client_for(make_staff: StaffFactory) -> Callable[..., Client]:
    """A browser-like client already signed in (through the session) as a new account with these roles."""

    def make(*roles: Role | str) -> Client:
        client = Client()
        user = make_staff(*roles)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        mark_mfa_passed(client, user)
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def token_for(make_staff: StaffFactory) -> Callable[..., str]:
    def make(*roles: Role | str) -> str:
        user = make_staff(*roles)
        _token, secret = api_token_create(actor=SETUP, user_id=user.pk, name="test")
        return secret

    return make
