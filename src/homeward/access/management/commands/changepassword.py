"""`homeward changepassword USER`: a new generated password, through the staff service (audited).

Replaces Django's command of the same name, which would change a password without an audit event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.access.services import staff_set_password


class Command(BaseCommand):
    help = "Give a staff account a new generated password (printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"there is no staff account {username!r}")
        self.stdout.write(f"new password: {staff_set_password(actor=cli_actor(), user_id=user.pk)}")
