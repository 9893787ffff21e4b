from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from homeward.access.gates import user_roles
from homeward.audit.models import AuditEvent


def test_createsuperuser_makes_an_audited_administrator(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("createsuperuser", username="root-admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="root-admin")
    assert user.check_password(password)
    assert not user.is_superuser
    assert user_roles(user) == {"admin"}
    event = AuditEvent.objects.get(action="access.staff.created")
    assert event.actor_label.startswith("system:cli:")


def test_staff_command_manages_accounts_and_tokens(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("staff", "create", "nigar", "--role", "registrar", "--role", "reviewer")
    assert "with password:" in capsys.readouterr().out
    call_command("staff", "create", "boss", "--role", "admin")
    call_command("staff", "roles", "nigar", "--role", "analyst")
    assert user_roles(get_user_model().objects.get(username="nigar")) == {"analyst"}
    call_command("staff", "token", "nigar", "--name", "reports")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("hwt_")
    call_command("staff", "deactivate", "nigar")
    assert not get_user_model().objects.get(username="nigar").is_active
    call_command("staff", "list")
    listing = capsys.readouterr().out
    assert "nigar" in listing
    assert "deactivated" in listing
    with pytest.raises(CommandError, match="Unknown role wizard"):
        call_command("staff", "create", "x", "--role", "wizard")
    with pytest.raises(CommandError, match="no staff account 'ghost'"):
        call_command("staff", "password", "ghost")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"access.staff.created", "access.staff.roles_changed", "access.token.created"} <= actions
    assert "access.staff.deactivated" in actions
