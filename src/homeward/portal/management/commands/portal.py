"""`homeward portal record|campaign|list`: record waiting registrations, start a campaign, see the counts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.progress import BarProgress
from homeward.portal import selectors, services
from homeward.portal.models import Submission


class Command(BaseCommand):
    help = "The self-registration portal: record waiting registrations, start campaigns, see what they brought."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("record", help="record the stored registrations that wait (the worker does this too)")
        campaign = sub.add_parser("campaign", help="start an information campaign (its code goes in links)")
        campaign.add_argument("code")
        campaign.add_argument("name")
        campaign.add_argument("--description", default="")
        sub.add_parser("list", help="registrations by state, and what each campaign brought")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, f"_{o['action']}")(o)
        except (ValidationError, NotFoundError) as exc:
            raise CommandError(str(exc)) from None

    def _record(self, o: dict[str, Any]) -> None:
        waiting = Submission.objects.filter(state=Submission.State.RECEIVED).count()
        bar = BarProgress(unit=" registrations")
        bar.start(waiting, "recording")
        try:
            recorded, failed = services.submissions_record_waiting(actor=cli_actor(), progress=bar)
        finally:
            bar.close()
        self.stdout.write(f"{recorded:,} registrations recorded, {failed:,} could not be (see /portal/staff/)")
        if failed:
            raise CommandError(f"{failed:,} registrations could not be recorded")

    def _campaign(self, o: dict[str, Any]) -> None:
        campaign = services.campaign_create(
            actor=cli_actor(), code=o["code"], name=o["name"], description=o["description"]
        )
        self.stdout.write(f"campaign {campaign.code}: its link is /portal/?c={campaign.code}")

    def _list(self, o: dict[str, Any]) -> None:
        counts = selectors.submission_counts()
        self.stdout.write(
            f"registrations: {counts['recorded']:,} recorded, {counts['received']:,} waiting, "
            f"{counts['without_campaign']:,} without a campaign code"
        )
        for row in selectors.campaign_counts():
            c = row["campaign"]
            self.stdout.write(
                f"  {c.code:<24} {row['submissions']:>8,} registrations  {row['recorded']:>8,} recorded  {c.name}"
            )
