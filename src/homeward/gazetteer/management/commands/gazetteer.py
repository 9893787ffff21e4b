"""`homeward gazetteer import FILE` and `homeward gazetteer export --format lpf|csv --out FILE`."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import ValidationError
from homeward.core.progress import BarProgress
from homeward.gazetteer.formats import write_csv, write_lpf
from homeward.gazetteer.selectors import export_gazetteer, export_places, settlement_and_unit_ids
from homeward.gazetteer.services import gazetteer_import, security_assess


class Command(BaseCommand):
    help = "Import a gazetteer file (LPF JSON or CSV, detected) or export the gazetteer."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import an LPF or CSV file; nothing is imported if any row is wrong")
        imp.add_argument("file", type=Path)
        assess = sub.add_parser("assess", help="record a security assessment of a settlement or a unit")
        target = assess.add_mutually_exclusive_group(required=True)
        target.add_argument("--settlement", help="the settlement's id (gid)")
        target.add_argument("--unit", help="the administrative unit's code")
        assess.add_argument("--level", required=True, choices=["not_assessed", "unsafe", "conditional", "safe"])
        assess.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
        assess.add_argument("--source", required=True)
        assess.add_argument("--note", default="")
        exp = sub.add_parser("export", help="write the gazetteer to a file")
        exp.add_argument("--format", choices=["lpf", "csv"], required=True)
        exp.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, action: str, **o: Any) -> None:
        if action == "assess":
            ids = settlement_and_unit_ids(settlement_gid=o["settlement"], unit_code=o["unit"])
            if ids is None:
                raise CommandError(f"there is no settlement or unit {o['settlement'] or o['unit']!r}")
            try:
                security_assess(actor=cli_actor(), level=o["level"], assessed_on=o["date"], source=o["source"],
                                note=o["note"], settlement_id=ids[0], admin_unit_id=ids[1])  # fmt: skip
            except ValidationError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write("assessment recorded")
            return
        if action == "export":
            out: Path = o["out"]
            tmp = out.with_name(out.name + ".part")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    if o["format"] == "lpf":
                        fh.write(write_lpf(export_gazetteer()))
                    else:
                        fh.writelines(write_csv(export_places()))
                os.replace(tmp, out)
            except OSError as exc:
                raise CommandError(f"cannot write {out}: {exc.strerror}") from None
            self.stdout.write(f"wrote {out}")
            return
        path: Path = o["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        bar = BarProgress(unit="settlements")
        try:
            result = gazetteer_import(actor=cli_actor(), raw=raw, filename=path.name, progress=bar)
        except ValidationError as exc:
            bar.close()
            for where, fld, reason in exc.problems:
                self.stderr.write(f"{where}, {fld}: {reason}")
            raise CommandError(f"nothing was imported: {len(exc.problems)} problem(s) in {path}") from None
        bar.close()
        self.stdout.write(
            f"imported {path} ({result.format}): {result.settlements_created} new and {result.settlements_updated} "
            f"updated settlements, {result.names} names, {result.population} population figures, "
            f"{result.units} administrative units"
        )
