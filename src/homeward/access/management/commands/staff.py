"""Staff accounts from the command line; every change is audited as done by the CLI's user."""

from __future__ import annotations

import os
import pwd
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from homeward.access.gates import user_roles
from homeward.access.roles import Role
from homeward.access.selectors import staff_list
from homeward.access.services import (
    api_token_create,
    staff_create,
    staff_reset_mfa,
    staff_set_active,
    staff_set_password,
    staff_set_roles,
)
from homeward.audit.services import system_actor
from homeward.core.errors import ValidationError

ROLE_HELP = "role: " + ", ".join(r.value for r in Role) + " (repeat for several)"


def cli_actor() -> Any:
    """The operating-system account running the command (not $USER, which anyone can set)."""
    try:
        who = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        who = f"uid{os.geteuid()}"
    sudo = os.environ.get("SUDO_USER")
    return system_actor(f"cli:{who}" + (f" (sudo by {sudo})" if sudo else ""))


class Command(BaseCommand):
    help = "Create staff accounts, set their roles, reset two-factor authentication, and make API tokens."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="all staff accounts and their roles")
        create = sub.add_parser("create", help="create an account; prints a generated password")
        create.add_argument("username")
        create.add_argument("--role", action="append", required=True, help=ROLE_HELP)
        create.add_argument("--email", default="")
        roles = sub.add_parser("roles", help="replace an account's roles")
        roles.add_argument("username")
        roles.add_argument("--role", action="append", required=True, help=ROLE_HELP)
        for name, text in (("deactivate", "stop an account from signing in"), ("activate", "allow it again")):
            sub.add_parser(name, help=text).add_argument("username")
        sub.add_parser("password", help="set a new generated password").add_argument("username")
        sub.add_parser("reset-mfa", help="remove an account's authenticators (lost phone)").add_argument("username")
        token = sub.add_parser("token", help="create an API token for an account; prints it once")
        token.add_argument("username")
        token.add_argument("--name", default="cli")

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"there is no staff account {username!r}")
        return user

    def handle(self, *args: Any, action: str, **o: Any) -> None:
        actor = cli_actor()
        try:
            self._dispatch(actor, action, o)
        except ValidationError as exc:
            raise CommandError(str(exc)) from None

    def _dispatch(self, actor: Any, action: str, o: dict[str, Any]) -> None:
        if action == "list":
            for user in staff_list():
                state = "active" if user.is_active else "deactivated"
                self.stdout.write(f"{user.username:<24} {state:<12} {', '.join(sorted(user_roles(user)))}")
        elif action == "create":
            user = staff_create(actor=actor, username=o["username"], roles=o["role"], email=o["email"])
            self.stdout.write(f"created {user.username} with password: {user.generated_password}")
            self.stdout.write("At first sign-in the account sets up an authenticator app.")
        elif action == "roles":
            staff_set_roles(actor=actor, user_id=self._user(o["username"]).pk, roles=o["role"])
            self.stdout.write("roles saved")
        elif action in ("activate", "deactivate"):
            staff_set_active(actor=actor, user_id=self._user(o["username"]).pk, active=action == "activate")
            self.stdout.write(f"{o['username']} {action}d")
        elif action == "password":
            password = staff_set_password(actor=actor, user_id=self._user(o["username"]).pk)
            self.stdout.write(f"new password: {password}")
        elif action == "reset-mfa":
            staff_reset_mfa(actor=actor, user_id=self._user(o["username"]).pk)
            self.stdout.write("authenticators removed; the account sets up a new one at next sign-in")
        elif action == "token":
            _token, secret = api_token_create(actor=actor, user_id=self._user(o["username"]).pk, name=o["name"])
            self.stdout.write(secret)
