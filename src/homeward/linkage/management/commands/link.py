"""`homeward link [--retrain]`: link every current source record of the registry into persons."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import ValidationError
from homeward.core.progress import BarProgress
from homeward.linkage.services import linkage_run
from homeward.registry.services.persons import eligibility_recompute


class Command(BaseCommand):
    help = (
        "Link every current source record into persons: sure matches merge, uncertain pairs wait in the review "
        "queue, reviewers' decisions are kept. The model of the last run is reused unless --retrain."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--retrain", action="store_true", help="train the model again on the current records")
        parser.add_argument("--no-eligibility", action="store_true", help="do not recompute eligibility afterwards")

    def handle(self, *args: Any, **o: Any) -> None:
        actor = cli_actor()
        bar = BarProgress(unit="%")
        try:
            run = linkage_run(actor=actor, progress=bar, retrain=o["retrain"])
        except ValidationError as exc:
            bar.close()
            raise CommandError(str(exc)) from None
        bar.close()
        self.stdout.write(
            f"linkage run {run.pk}: {run.records:,} records; {run.merged:,} persons merged into others; "
            f"{run.queued:,} pairs wait for review ({'model trained' if run.trained else 'model reused'})"
        )
        for notice in run.notices:
            self.stdout.write(f"note: {notice}")
        if run.merged and not o["no_eligibility"]:
            counts = eligibility_recompute(actor=actor)
            self.stdout.write(f"eligibility: {counts}")
