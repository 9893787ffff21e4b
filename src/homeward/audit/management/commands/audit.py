"""Check the audit chain, or print its latest events."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from homeward.audit.selectors import audit_chain_verify, audit_events
from homeward.audit.services import audit_anchor_advance
from homeward.core.errors import HomewardError
from homeward.core.management.commands.jobs import positive
from homeward.core.progress import BarProgress


class Command(BaseCommand):
    help = "audit verify: check every event of the audit chain; audit tail: print the latest events."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check the whole chain; exit status 1 when it is broken")
        verify.add_argument("--json", action="store_true", help="print the report as JSON")
        verify.add_argument(
            "--expect", metavar="SEQ:HASH", help="also check that the chain still reaches this head (kept elsewhere)"
        )
        tail = sub.add_parser("tail", help="print the latest events")
        tail.add_argument("-n", type=positive, default=20)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "tail":
            for e in reversed(list(audit_events()[: options["n"]])):
                target = f"{e.target_type}:{e.target_id}" if e.target_type else ""
                self.stdout.write(f"{e.seq:>8}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor_label:<20} {e.action:<32} {target}")
            return
        expect = None
        if options.get("expect"):
            seq, _, head = options["expect"].partition(":")
            if not seq.isdigit() or len(head) != 64:
                raise CommandError("--expect takes SEQ:HASH as printed by an earlier `homeward audit verify`")
            expect = (int(seq), head)
        bar = BarProgress(unit="events")
        try:
            report = audit_chain_verify(progress=bar, expect=expect)
        except HomewardError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        audit_anchor_advance(report)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        elif report.ok:
            self.stdout.write(
                f"audit chain intact: {report.checked} events checked; head {report.last_seq}:{report.last_hash}"
            )
        else:
            for problem in report.problems:
                self.stdout.write(f"{problem.kind}: {problem.detail}")
        if not report.ok:
            raise CommandError(f"audit chain broken: {len(report.problems)} problem(s) in {report.checked} events")
