"""`homeward registry ...`: sources, displacement events, the origin region, eligibility, import reports,
synthetic communities, and a person's data export."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.core.progress import BarProgress
from homeward.registry.models import ImportBatch
from homeward.registry.selectors import batches, person_export, problem_report_rows


def write_report(batch_id: int, out: Path) -> int:
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise CommandError(f"there is no import {batch_id}")
    tmp = out.with_name(out.name + ".part")
    count = -1
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for row in problem_report_rows(batch):
                writer.writerow(row)
                count += 1
        os.replace(tmp, out)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror}") from None
    return count


def _date(text: str | None) -> PartialDate | None:
    if not text:
        return None
    try:
        return PartialDate.parse(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Registry administration: sources, events, origin region, eligibility, reports, synthetic data."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rep = sub.add_parser("report", help="write an import's problems (row, field, value, reason) as CSV")
        rep.add_argument("batch", type=int)
        rep.add_argument("--out", type=Path, required=True)
        sub.add_parser("imports", help="list the latest imports")
        retry = sub.add_parser("retry", help="check an import's held rows again (after fixing the gazetteer or events)")
        retry.add_argument("batch", type=int)
        sub.add_parser("eligibility", help="recompute generation and eligibility of every person")
        ev = sub.add_parser("event", help="add or change a displacement event (wave)")
        ev.add_argument("code")
        ev.add_argument("--label", default="")
        ev.add_argument("--start", help="YYYY, YYYY-MM or YYYY-MM-DD")
        ev.add_argument("--end", help="YYYY, YYYY-MM or YYYY-MM-DD")
        ev.add_argument("--not-qualifying", action="store_true", help="recorded, but does not make anyone eligible")
        reg = sub.add_parser("origin-region", help="set the administrative units that form the origin region")
        reg.add_argument("units", nargs="+", help="unit codes")
        src = sub.add_parser("source", help="add or change a source")
        src.add_argument("code")
        src.add_argument("--name", default="")
        src.add_argument("--kind", default="registry", choices=["registry", "archive", "survey", "portal", "other"])
        src.add_argument("--country", default="")
        src.add_argument("--trust", type=int, default=3, help="1 (hearsay) to 5 (official registry)")
        syn = sub.add_parser("synth", help="write a synthetic community: records.csv, truth.csv, persons.csv")
        syn.add_argument("--records", type=int, default=20_000)
        syn.add_argument("--seed", type=int, default=11)
        syn.add_argument("--out", type=Path, required=True)
        exp = sub.add_parser("export-person", help="everything held about one person, as JSON (access request)")
        exp.add_argument("person", type=int)
        exp.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, action: str, **o: Any) -> None:
        try:
            getattr(self, "_" + action.replace("-", "_"))(**o)
        except (ValidationError, NotFoundError) as exc:
            raise CommandError(str(exc)) from None

    def _report(self, batch: int, out: Path, **_: Any) -> None:
        count = write_report(batch, out)
        self.stdout.write(f"wrote {count:,} problems to {out}")

    def _retry(self, batch: int, **_: Any) -> None:
        from homeward.registry.services.imports import registry_retry_held

        outcome = registry_retry_held(actor=cli_actor(), batch_id=batch)
        for notice in outcome.notices:
            self.stdout.write(notice)

    def _imports(self, **_: Any) -> None:
        for b in batches()[:30]:
            self.stdout.write(
                f"{b.pk:>5}  {b.started_at:%Y-%m-%d %H:%M}  {b.state:<8} {b.source.code:<16} {b.filename:<30} "
                f"rows {b.rows:,}  new {b.created:,}  held {b.held:,}"
            )

    def _eligibility(self, **_: Any) -> None:
        from homeward.registry.services.persons import eligibility_recompute

        counts = eligibility_recompute(actor=cli_actor(), progress=BarProgress(unit="steps"))
        self.stdout.write(
            f"{counts['eligible']:,} of {counts['persons']:,} persons eligible ({counts['displaced']:,} displaced "
            f"themselves, {counts['links']:,} parent links); {counts['changed']:,} changed"
        )

    def _event(self, code: str, label: str, start: str | None, end: str | None, not_qualifying: bool, **_: Any) -> None:
        from homeward.registry.services.persons import event_save

        event = event_save(actor=cli_actor(), code=code, label=label, start=_date(start), end=_date(end),
                           qualifies=not not_qualifying)  # fmt: skip
        self.stdout.write(f"event {event.code} saved ({'qualifies' if event.qualifies else 'does not qualify'})")

    def _origin_region(self, units: list[str], **_: Any) -> None:
        from homeward.registry.services.persons import origin_region_set

        codes = origin_region_set(actor=cli_actor(), unit_codes=units)
        self.stdout.write(f"origin region: {', '.join(codes)}")

    def _source(self, code: str, name: str, kind: str, country: str, trust: int, **_: Any) -> None:
        from homeward.registry.services.persons import source_save

        source = source_save(actor=cli_actor(), code=code, name=name, kind=kind, country=country, trust=trust)
        self.stdout.write(f"source {source.code} saved")

    def _synth(self, records: int, seed: int, out: Path, **_: Any) -> None:
        from homeward.synth.community import write_community

        out.mkdir(parents=True, exist_ok=True)
        paths = write_community(out, records=records, seed=seed, progress=BarProgress(unit="records"))
        for name, path in paths.items():
            self.stdout.write(f"{name}: {path}")

    def _export_person(self, person: int, out: Path, **_: Any) -> None:
        from homeward.registry.gates import access_person_by_id

        found = access_person_by_id(cli_actor(), person, purpose="export")
        out.write_text(json.dumps(person_export(found), ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write(f"wrote {out}")
