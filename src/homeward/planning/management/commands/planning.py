"""`homeward planning list|create|import|solve|export|copy|change|compare`: planning scenarios in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from homeward.access.management.commands.staff import cli_actor
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.progress import BarProgress
from homeward.planning import outputs, selectors, services
from homeward.planning.services import CHANGE_KINDS
from homeward.planning.solver.files import dumps


class Command(BaseCommand):
    help = "Return-plan scenarios: make one from the census or a file, solve it, export it, compare two."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="the scenarios and their latest plans")
        create = sub.add_parser("create", help="a scenario from the latest census snapshot (or --snapshot)")
        create.add_argument("--name", required=True)
        create.add_argument("--start", required=True, help="YYYY-MM-DD")
        create.add_argument("--phases", type=int, default=12)
        create.add_argument("--phase-days", type=int, default=90)
        create.add_argument("--snapshot", type=int)
        create.add_argument(
            "--basis",
            choices=("intentions", "eligible"),
            default="intentions",
            help="the members' recorded intentions (default), or every eligible member as a ceiling",
        )
        create.add_argument("--seats", type=int, default=2000, help="seats per route and phase")
        create.add_argument("--budget", type=float, default=0.0, help="budget per phase")
        create.add_argument(
            "--housing-start", type=float, default=20.0, help="%% of the population housed after phase 1"
        )
        create.add_argument("--housing-step", type=float, default=10.0, help="%% points added each phase")
        create.add_argument("--transport-cost", type=float, default=0.0)
        create.add_argument("--package-cost", type=float, default=0.0)
        create.add_argument("--cash-grant", type=float, default=0.0)
        create.add_argument("--currency", default="USD")
        create.add_argument(
            "--standard",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a per-person standard other than the Sphere minimum, e.g. shelter_m2_per_person=4.5 "
            f"({', '.join(services.STANDARD_FIELDS)})",
        )
        imp = sub.add_parser("import", help="a scenario from an instance file (docs/planning.md)")
        imp.add_argument("file")
        imp.add_argument("--name", default="")
        solve = sub.add_parser("solve", help="solve a scenario now, with a progress bar")
        solve.add_argument("scenario", type=int)
        solve.add_argument("--time-limit", type=float, default=30.0)
        export = sub.add_parser("export", help="write a scenario's instance file and, when solved, its plan")
        export.add_argument("scenario", type=int)
        export.add_argument("--out", required=True, help="folder to write into")
        copy = sub.add_parser("copy", help="a what-if copy of a scenario")
        copy.add_argument("scenario", type=int)
        copy.add_argument("--name", default="")
        change = sub.add_parser("change", help="change one input: gate, housing, seats or budget")
        change.add_argument("scenario", type=int)
        change.add_argument("kind", choices=CHANGE_KINDS)
        change.add_argument("--target", default="", help="settlement id (gate, housing) or route id (seats)")
        change.add_argument("--value", default="", help="date (gate; empty: not safe), places, seats or amount")
        change.add_argument("--from-phase", type=int, default=1)
        compare = sub.add_parser("compare", help="the latest plans of two scenarios, side by side")
        compare.add_argument("a", type=int)
        compare.add_argument("b", type=int)

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, f"_{o['action']}")(o)
        except (ValidationError, NotFoundError) as exc:
            raise CommandError(str(exc)) from None

    def _list(self, o: dict[str, Any]) -> None:
        found = list(selectors.scenarios()[:200])
        latest = selectors.latest_solutions([s.pk for s in found])
        for s in found:
            plan = latest.get(s.pk)
            summary = (f"{plan.status}, {plan.persons_placed:,} of {plan.persons_total:,} placed, gap {plan.gap:.2%}"
                       if plan else "not solved")  # fmt: skip
            self.stdout.write(
                f"{s.pk:>5}  {s.name}  (from {s.start_date}, {s.phases} x {s.phase_days} days): {summary}"
            )
        if not found:
            self.stdout.write("no scenario yet")

    def _create(self, o: dict[str, Any]) -> None:
        bar = BarProgress(unit="%")
        try:
            s = services.scenario_create(
                actor=cli_actor(), name=o["name"], start_date=o["start"], phases=o["phases"],
                phase_days=o["phase_days"], snapshot_id=o["snapshot"], seats_per_route=o["seats"],
                budget_per_phase=o["budget"], housing_start_percent=o["housing_start"],
                housing_step_percent=o["housing_step"], transport_cost_per_person=o["transport_cost"],
                package_cost_per_person=o["package_cost"], cash_grant_per_person=o["cash_grant"],
                currency=o["currency"], basis=o["basis"], standards=self._standards(o["standard"]), progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
        d = s.derivation
        self.stdout.write(
            f"scenario {s.pk}: {len(s.instance['cohorts']):,} cohorts, {d['persons']:,} persons in {d['households']:,} "
            f"households, from census snapshot {d['snapshot']} of {d['reference_date']}"
        )
        if d.get("no_housing_figure_count"):
            self.stdout.write(
                f"note: {d['no_housing_figure_count']} settlement(s) have no population figure from before "
                "displacement, so no housing is known there until a capacity is set: "
                + ", ".join(d["no_housing_figure"][:10])
            )

    def _standards(self, given: list[str]) -> dict[str, str]:
        out = {}
        for item in given:
            name, _, value = item.partition("=")
            if name.strip() not in services.STANDARD_FIELDS or not value.strip():
                raise CommandError(
                    f"--standard {item!r}: NAME=VALUE with NAME one of {', '.join(services.STANDARD_FIELDS)}"
                )
            out[name.strip()] = value.strip()
        return out

    def _import(self, o: dict[str, Any]) -> None:
        try:
            data = Path(o["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"{o['file']}: {exc.strerror or exc}") from None
        s = services.scenario_import(actor=cli_actor(), data=data, name=o["name"])
        self.stdout.write(f"scenario {s.pk}: {s.name}, {len(s.instance['cohorts']):,} cohorts")

    def _solve(self, o: dict[str, Any]) -> None:
        bar = BarProgress(unit="%")
        try:
            solution = services.scenario_solve(
                actor=cli_actor(), scenario_id=o["scenario"], time_limit=o["time_limit"], progress=bar
            )
        finally:
            bar.close()
        self.stdout.write(
            f"plan {solution.pk} of scenario {o['scenario']}: {solution.status}, {solution.persons_placed:,} of "
            f"{solution.persons_total:,} persons placed; objective {solution.objective:,.2f}, proven bound "
            f"{solution.bound:,.2f}, gap {solution.gap:.2%}; check: "
            + ("valid" if not solution.check_errors else "; ".join(solution.check_errors[:3]))
        )

    def _export(self, o: dict[str, Any]) -> None:
        scenario = services.scenario_get(o["scenario"])
        out = Path(o["out"])
        try:
            out.mkdir(parents=True, exist_ok=True)
            written = [out / f"scenario-{scenario.pk}-instance.json"]
            written[0].write_bytes(dumps(scenario.instance))
            solution = selectors.solutions_of(scenario).first()
            if solution is not None:
                solved = solution.instance or scenario.instance  # the inputs the plan was solved for
                files = {
                    "solution.json": dumps(solution.solution),
                    "plan.csv": outputs.plan_csv(solved, solution.solution),
                    "resources.csv": outputs.resources_csv(solved, solution.solution),
                    "plan.xlsx": outputs.plan_xlsx(solved, solution.solution, title=scenario.name),
                }
                for name, data in files.items():
                    path = out / f"scenario-{scenario.pk}-{name}"
                    path.write_bytes(data)
                    written.append(path)
        except OSError as exc:
            raise CommandError(f"{out}: {exc.strerror or exc}") from None
        for path in written:
            self.stdout.write(str(path))

    def _copy(self, o: dict[str, Any]) -> None:
        s = services.scenario_copy(actor=cli_actor(), scenario_id=o["scenario"], name=o["name"])
        self.stdout.write(f"scenario {s.pk}: {s.name} (copy of {o['scenario']})")

    def _change(self, o: dict[str, Any]) -> None:
        s = services.scenario_change(
            actor=cli_actor(), scenario_id=o["scenario"], kind=o["kind"], target=o["target"], value=o["value"],
            from_phase=o["from_phase"],
        )  # fmt: skip
        self.stdout.write(f"scenario {s.pk}: {o['kind']} changed; solve it again to see the effect")

    def _compare(self, o: dict[str, Any]) -> None:
        a, b = services.scenario_get(o["a"]), services.scenario_get(o["b"])
        sa, sb = selectors.solutions_of(a).first(), selectors.solutions_of(b).first()
        if sa is None or sb is None:
            raise CommandError("both scenarios need a plan: solve them first")
        try:
            result = outputs.compare(sa.instance or a.instance, sa.solution, sb.instance or b.instance, sb.solution)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        placed = result.summary["persons_placed"]
        self.stdout.write(f"persons placed: {placed[0]:,} -> {placed[1]:,}")
        self.stdout.write(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts.items()))
        for change in result.changes[:20]:
            self.stdout.write(
                f"  {change.line.settlement_name} ({change.line.persons:,} persons): "
                f"{sorted(change.before) or '-'} -> {sorted(change.after) or '-'} ({change.change.replace('_', ' ')})"
            )
