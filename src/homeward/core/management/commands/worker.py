"""Run background jobs; first records as failed any job whose worker died."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from homeward.core.jobs import jobs_fail_stale


class Command(BaseCommand):
    help = "Run background jobs until stopped (or, with --batch, until the queue is empty)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", action="store_true", help="exit when no job is waiting")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the queue")

    def handle(self, *args: Any, batch: bool, interval: float, **options: Any) -> None:
        stale = jobs_fail_stale()
        if stale:
            self.stdout.write(f"{stale} job(s) whose worker had stopped are now recorded as failed")
        call_command(
            "db_worker", batch=batch, interval=interval, startup_delay=False, verbosity=options.get("verbosity", 1)
        )
