"""`homeward createsuperuser`: an administrator account made through the staff service (audited, with a role).

Replaces Django's command of the same name, whose superusers would bypass Homeward's roles and audit log.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.access.roles import Role
from homeward.access.services import staff_create
from homeward.core.errors import ValidationError


class Command(BaseCommand):
    help = "Create an administrator account; prints a generated password (TOTP is set up at first sign-in)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin", help="user name (default: admin)")
        parser.add_argument("--email", default="")
        parser.add_argument("--noinput", "--no-input", action="store_true", help="accepted for compatibility")

    def handle(self, *args: Any, username: str, email: str, **options: Any) -> None:
        try:
            user = staff_create(actor=cli_actor(), username=username, roles=[Role.ADMIN.value], email=email)
        except ValidationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created administrator {user.username} with password: {user.generated_password}")
        self.stdout.write("At first sign-in the account sets up an authenticator app.")
