"""`homeward census run|export|list`: freeze a snapshot and compute the tables; write them out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from homeward.access.management.commands.staff import cli_actor
from homeward.census import selectors, services
from homeward.census.engine.outputs import FORMATS
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.progress import BarProgress


class Command(BaseCommand):
    help = "Census statistics: freeze a snapshot of the registry and compute every table; export them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="freeze a snapshot and compute every table (and a public release)")
        run.add_argument("--reference-date", help="YYYY-MM-DD (default: today)")
        run.add_argument("--note", default="")
        export = sub.add_parser("export", help="write the tables of a snapshot (the latest unless --snapshot)")
        export.add_argument("--format", required=True, choices=FORMATS)
        export.add_argument("--out", required=True, help="folder to write into")
        export.add_argument("--public", action="store_true", help="only disclosure-controlled tables (a release)")
        export.add_argument("--snapshot", type=int)
        export.add_argument("--threshold", help="withhold counts below this (default 10, or HOMEWARD_CENSUS_THRESHOLD)")
        export.add_argument("--rounding", help="round published counts to a multiple of this (default 5)")
        export.add_argument("--geography", help="finest geography of a public release: district or settlement")
        sub.add_parser("list", help="the snapshots and releases")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, f"_{o['action']}")(o)
        except (ValidationError, NotFoundError) as exc:
            raise CommandError(str(exc)) from None

    def _run(self, o: dict[str, Any]) -> None:
        reference = None
        if o["reference_date"]:
            try:
                reference = dt.date.fromisoformat(o["reference_date"])
            except ValueError:
                raise CommandError(f"--reference-date: not a date YYYY-MM-DD: {o['reference_date']!r}") from None
        actor = cli_actor()
        bar = BarProgress(unit="%")
        try:
            snapshot = services.census_run(actor=actor, reference_date=reference, note=o["note"], progress=bar)
            bar.close()
            bar = BarProgress(unit="%")
            result = services.census_release(actor=actor, snapshot_id=snapshot.pk, progress=bar)
        finally:
            bar.close()
        release = result.release
        self.stdout.write(
            f"census snapshot {snapshot.pk}: {snapshot.persons:,} persons, {snapshot.households:,} households "
            f"on {snapshot.reference_date} (sha256 {snapshot.content_hash}); {snapshot.excluded:,} left out "
            f"(restricted, erased, or registered after the reference date)"
        )
        self.stdout.write(
            f"public release {release.pk}: {len(result.outputs)} tables, counts below {release.threshold} withheld "
            f"and the rest rounded to {release.rounding}; {release.suppressed:,} cells withheld"
        )
        for warning in release.warnings[:20]:
            self.stdout.write(f"warning: changed by less than the threshold since the last release: {warning}")
        if len(release.warnings) > 20:
            self.stdout.write(f"warning: ... and {len(release.warnings) - 20} more")

    def _export(self, o: dict[str, Any]) -> None:
        bar = BarProgress(unit="%", disable=not o["public"])
        try:
            files = services.census_export(
                actor=cli_actor(), out_dir=Path(o["out"]), fmt=o["format"], public=o["public"],
                snapshot_id=o["snapshot"], threshold=o["threshold"], rounding=o["rounding"],
                geography=o["geography"], progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
        for path in files:
            self.stdout.write(str(path))

    def _list(self, o: dict[str, Any]) -> None:
        for s in selectors.snapshots()[:50]:
            self.stdout.write(
                f"snapshot {s.pk}  {s.created_at:%Y-%m-%d %H:%M}  reference {s.reference_date}  "
                f"{s.persons:,} persons  sha256 {s.content_hash[:16]}"
            )
        for r in selectors.releases()[:50]:
            self.stdout.write(
                f"release {r.pk}  {r.created_at:%Y-%m-%d %H:%M}  snapshot {r.snapshot_id}  "
                f"{'public' if r.public else 'internal'}  threshold {r.threshold}  rounding {r.rounding}  "
                f"{len(r.warnings)} warnings"
            )
