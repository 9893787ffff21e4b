"""`homeward import SOURCE FILE [--mapping MAP.toml]`: import person records from a source's extract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import ValidationError
from homeward.core.progress import BarProgress
from homeward.registry.services.imports import registry_import
from homeward.registry.services.persons import eligibility_recompute


class Command(BaseCommand):
    help = (
        "Import person records (CSV, XLSX or Parquet) from SOURCE (its short name; an unknown one is created). "
        "The person records file imports as it is; other layouts need --mapping. Re-running adds nothing; "
        "after a crash it continues where it stopped."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="the source's short name, e.g. az-registry")
        parser.add_argument("file", type=Path)
        parser.add_argument("--mapping", type=Path, help="a TOML mapping of this source's columns and codes")
        parser.add_argument("--report", type=Path, help="write the problems found (row, field, value, reason) here")
        parser.add_argument("--no-eligibility", action="store_true", help="do not recompute eligibility afterwards")

    def handle(self, *args: Any, source: str, file: Path, **o: Any) -> None:
        mapping_text = None
        if o["mapping"]:
            try:
                mapping_text = o["mapping"].read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read the mapping {o['mapping']}: {exc}") from None
        if not file.is_file():
            raise CommandError(f"cannot read {file}: no such file")
        actor = cli_actor()
        bar = BarProgress(unit="%")
        try:
            outcome = registry_import(
                actor=actor,
                source_code=source,
                path=file,
                mapping_text=mapping_text,
                mapping_name=o["mapping"].name if o["mapping"] else "",
                progress=bar,
            )
        except ValidationError as exc:
            bar.close()
            for where, fld, reason in exc.problems[:50]:
                self.stderr.write(f"{where}, {fld}: {reason}")
            raise CommandError(f"nothing was imported from {file}: {exc}") from None
        bar.close()
        for notice in outcome.notices:
            self.stderr.write(f"warning: {notice}")
        if outcome.already_imported:
            self.stdout.write(f"{file} was already imported from {source} (import {outcome.batch_id}): nothing added")
            return
        self.stdout.write(
            f"import {outcome.batch_id} of {file} from {source}{' (resumed)' if outcome.resumed else ''}: "
            f"{outcome.rows:,} rows, {outcome.created:,} new records, {outcome.updated:,} changed, "
            f"{outcome.unchanged:,} already known, {outcome.held:,} held for correction, "
            f"{outcome.links:,} family links, {outcome.warnings:,} warnings"
        )
        if o["report"]:
            from homeward.registry.management.commands.registry import write_report

            count = write_report(outcome.batch_id, o["report"])
            self.stdout.write(f"wrote {count:,} problems to {o['report']}")
        elif outcome.held or outcome.warnings:
            self.stdout.write(f"see the problems with: homeward registry report {outcome.batch_id} --out FILE.csv")
        if not o["no_eligibility"]:
            counts = eligibility_recompute(actor=actor, progress=BarProgress(unit="steps"))
            self.stdout.write(
                f"eligibility: {counts['eligible']:,} of {counts['persons']:,} persons eligible "
                f"({counts['displaced']:,} displaced themselves)"
            )
