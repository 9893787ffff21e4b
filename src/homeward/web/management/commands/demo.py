"""Prepare the demo: a staff account with every role (and two-factor set up), and the demo data so far."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from homeward.access.roles import Role
from homeward.access.services import roles_ensure_groups, staff_create, staff_enroll_totp, staff_set_password
from homeward.audit.services import audit_verify_start, system_actor
from homeward.core.partialdate import PartialDate
from homeward.core.progress import BarProgress, PercentBar
from homeward.gazetteer.formats import write_lpf
from homeward.gazetteer.models import AdminUnit, Settlement
from homeward.gazetteer.services import gazetteer_import, security_assess
from homeward.linkage.services import linkage_run
from homeward.registry.services.imports import registry_import
from homeward.registry.services.persons import eligibility_recompute, event_save, origin_region_set, source_save
from homeward.synth.community import WAVES, write_source_extracts
from homeward.synth.gazetteer import generate

DEMO_SHEET_VERSION = "2026-1"
# The demo's information sheet (data, like the synthetic community: a real sheet is written by the
# organisation that runs the registry and published on the information sheets page).
DEMO_SHEET = {
    "en": (
        "Registration in the community registry and return intentions",
        "The community organisation keeps this registry to know who its members are, where each family comes "
        "from, and who would return, when and on what conditions.\n\n"
        "We store your names as in your documents, your birth date and place, your family links, where your "
        "family lived before the displacement, where you live now, and, if you give them, your contact "
        "details and your return intention. Contact details and document numbers are encrypted.\n\n"
        "Only trained staff of the organisation see your record, and every time they open it is logged. "
        "Published statistics never show a number small enough to point at a family.\n\n"
        "Giving a return intention is voluntary. You may change it or withdraw it at any time, in one step, "
        "without giving a reason.",
    ),
    "az": (
        "İcma reyestrində qeydiyyat və qayıdış niyyətləri",
        "İcma təşkilatı bu reyestri üzvlərinin kim olduğunu, hər ailənin haradan gəldiyini və kimin nə vaxt və "
        "hansı şərtlərlə qayıdacağını bilmək üçün aparır.\n\n"
        "Biz adlarınızı sənədlərdəki kimi, doğum tarixinizi və yerinizi, ailə əlaqələrinizi, ailənizin "
        "köçkünlükdən əvvəl yaşadığı yeri, indi yaşadığınız yeri və verdiyiniz halda əlaqə məlumatlarınızı və "
        "qayıdış niyyətinizi saxlayırıq. Əlaqə məlumatları və sənəd nömrələri şifrələnir.\n\n"
        "Qeydinizi yalnız təşkilatın təlim keçmiş əməkdaşları görür və hər açılış qeydə alınır. Dərc olunan "
        "statistikada heç vaxt bir ailəni göstərə biləcək qədər kiçik say olmur.\n\n"
        "Qayıdış niyyətini bildirmək könüllüdür. Onu istənilən vaxt, bir addımla, səbəb göstərmədən dəyişə və "
        "ya geri götürə bilərsiniz.",
    ),
    "ru": (
        "Регистрация в реестре общины и намерения вернуться",
        "Общественная организация ведёт этот реестр, чтобы знать, кто её члены, откуда родом каждая семья и кто "
        "вернулся бы, когда и на каких условиях.\n\n"
        "Мы храним ваши имена как в документах, дату и место рождения, родственные связи, место, где ваша семья "
        "жила до перемещения, где вы живёте сейчас, а если вы их сообщите, — контактные данные и намерение "
        "вернуться. Контактные данные и номера документов зашифрованы.\n\n"
        "Вашу запись видят только обученные сотрудники организации, и каждое её открытие записывается. В "
        "публикуемой статистике нет чисел настолько малых, чтобы по ним можно было узнать семью.\n\n"
        "Сообщать о намерении вернуться — добровольно. Вы можете изменить или отозвать его в любой момент, одним "
        "шагом и без объяснения причин.",
    ),
}

DEMO_RECORDS = 40_000  # about two records per person: some 20,000 people
DEMO_SOURCES = [
    ("az-registry", "Population registry A (fictional, Azerbaijani Latin)", "registry", "AZ", 5),
    ("az-archive", "Soviet-era archive (fictional, Azerbaijani Cyrillic)", "archive", "AZ", 3),
    ("ru-registry", "Population registry B (fictional, Russian Cyrillic)", "registry", "RU", 4),
    ("ru-passport", "Passport records (fictional, Russian-derived Latin)", "registry", "RU", 4),
    ("intl-registry", "Registries abroad (fictional, English-style Latin)", "registry", "", 3),
    ("portal", "Web self-registration (fictional)", "portal", "", 2),
]


DEMO_CAMPAIGNS = (("radio-2026", "Radio programme, spring 2026"), ("letters-2026", "Letters to members, 2026"))
DEMO_REGISTRATIONS = 40


def _assessments(actor: Any) -> None:
    today = date.today()
    for code, level, months in (
        ("hw:unit:c1", "safe", 2),
        ("hw:unit:c2", "conditional", 5),
        ("hw:unit:c3", "unsafe", 9),
    ):
        unit = AdminUnit.objects.get(code=code)
        source = "Demo assessment mission (fictional)"
        earlier = today - timedelta(days=720)
        security_assess(actor=actor, admin_unit_id=unit.pk, level="unsafe", assessed_on=earlier, source=source)
        latest = today - timedelta(days=30 * months)
        security_assess(actor=actor, admin_unit_id=unit.pk, level=level, assessed_on=latest, source=source,
                        note="Demining and road checks")  # fmt: skip
    for settlement in Settlement.objects.filter(admin_unit__code="hw:unit:c3").order_by("gid")[:5]:
        security_assess(actor=actor, settlement_id=settlement.pk, level="conditional",
                        assessed_on=today - timedelta(days=20), source="Demo field visit (fictional)")  # fmt: skip


class Command(BaseCommand):
    help = "Create the demo staff account (new password each run) and load the demo data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="demo-admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        actor = system_actor("demo")
        with transaction.atomic():
            roles_ensure_groups()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = staff_create(actor=actor, username=username, roles=[r.value for r in Role])
            password = user.generated_password
        else:
            password = staff_set_password(actor=actor, user_id=user.pk)
        secret, codes = staff_enroll_totp(actor=actor, user_id=user.pk)
        self._gazetteer(actor)
        self._registry(actor)
        self._intentions(user)
        self._portal(user)
        self._census(actor)
        self._plan()
        self._scenarios(actor)
        audit_verify_start(actor=actor)
        self.stdout.write("")
        self.stdout.write("Homeward demo: sign in at http://127.0.0.1:8000/ with")
        self.stdout.write(f"  user name:  {username}")
        self.stdout.write(f"  password:   {password}")
        self.stdout.write("  then a code from an authenticator app set up with this key (or otpauth link):")
        self.stdout.write(f"    {secret}")
        self.stdout.write(f"    otpauth://totp/Homeward:{username}?secret={secret}&issuer=Homeward")
        self.stdout.write("  or, without an app, one of these single-use recovery codes:")
        self.stdout.write("    " + "  ".join(codes[:5]))
        self.stdout.write("    " + "  ".join(codes[5:]))
        self.stdout.write("")

    def _registry(self, actor: Any) -> None:
        """A community of about 20,000 people from six sources, through the real import."""
        from homeward.registry.models import SourceRecord

        if SourceRecord.objects.exists():
            return
        with tempfile.TemporaryDirectory(prefix="homeward-demo-") as tmp:
            files = write_source_extracts(Path(tmp), records=DEMO_RECORDS)
            for code, name, kind, country, trust in DEMO_SOURCES:
                source_save(actor=actor, code=code, name=name, kind=kind, country=country, trust=trust)
            for code, (start, end) in WAVES.items():
                event_save(actor=actor, code=code, label=f"Displacement {start}–{end} (fictional)",
                           start=PartialDate(start), end=PartialDate(end), qualifies=True)  # fmt: skip
            origin_region_set(actor=actor, unit_codes=["hw:unit:old"])
            for code, path in files.items():
                outcome = registry_import(actor=actor, source_code=code, path=path, progress=BarProgress(unit="%"))
                self.stdout.write(
                    f"demo registry: {code}: {outcome.rows:,} records, {outcome.created:,} new, "
                    f"{outcome.held:,} held for correction"
                )
        run = linkage_run(actor=actor, progress=BarProgress(unit="%"))
        self.stdout.write(
            f"demo linkage: {run.records:,} records, {run.merged:,} persons merged into others, "
            f"{run.queued:,} pairs wait for review"
        )
        counts = eligibility_recompute(actor=actor)
        self.stdout.write(
            f"demo registry: {counts['persons']:,} persons, {counts['eligible']:,} eligible "
            f"({counts['displaced']:,} displaced themselves)"
        )

    def _census(self, actor: Any) -> None:
        """A census snapshot of the demo registry and a public release from it."""
        from homeward.census.models import CensusSnapshot
        from homeward.census.services import census_release, census_run

        if CensusSnapshot.objects.exists():
            return
        snapshot = census_run(actor=actor, note="demo", progress=BarProgress(unit="%"))
        release = census_release(actor=actor, snapshot_id=snapshot.pk).release
        self.stdout.write(
            f"demo census: snapshot of {snapshot.persons:,} persons and {snapshot.households:,} households; "
            f"public release with {release.suppressed:,} cells withheld"
        )

    def _plan(self) -> None:
        """A return plan on files: a synthetic instance the size of the demo's gazetteer, solved and checked.

        The planning scenario that derives cohorts from the registry comes with the planning pages; until
        then the demo shows the solver on its own files, under var/demo-plan/.
        """
        from homeward.planning.solver.check import check
        from homeward.planning.solver.files import instance_to_dict, solution_to_dict, write_json
        from homeward.planning.solver.generate import generate as generate_plan
        from homeward.planning.solver.resources import cohesion, resources
        from homeward.planning.solver.solve import solve

        folder = settings.VAR_DIR / "demo-plan"
        instance_path, solution_path = folder / "instance.json", folder / "solution.json"
        if solution_path.exists():
            return
        folder.mkdir(mode=0o700, exist_ok=True)
        instance = generate_plan(settlements=300, persons=20_000, phases=12, seed=1)
        write_json(instance_path, instance_to_dict(instance))
        bar = PercentBar("demo plan")
        try:
            plan = solve(instance, time_limit=10, step=bar.step)
        finally:
            bar.close()
        extra = {"cohesion": cohesion(instance, plan.moves), "resources": resources(instance, plan.moves)}
        checked = check(instance, plan.moves, reported_objective=plan.objective)
        if not checked.valid:
            raise CommandError("the demo plan failed its check: " + "; ".join(checked.errors[:3]))
        write_json(solution_path, solution_to_dict(instance, plan, extra))
        self.stdout.write(
            f"demo plan: {sum(m.persons for m in plan.moves):,} of 20,000 persons placed in 12 phases, gap "
            f"{plan.gap:.2%} to the proven bound; {len(plan.unplaced):,} cohorts left out, each with its reason -> "
            f"{solution_path} (homeward plan check {instance_path} {solution_path})"
        )

    def _sheets(self, staff: Any) -> None:
        """The information sheet the demo's interviews were given under, in the three languages."""
        from homeward.registry.models import InformationSheet
        from homeward.registry.services.sheets import information_sheet_publish

        for language, (title, body) in DEMO_SHEET.items():
            if not InformationSheet.objects.filter(version=DEMO_SHEET_VERSION, language=language).exists():
                information_sheet_publish(actor=staff, version=DEMO_SHEET_VERSION, language=language, title=title,
                                          body=body)  # fmt: skip
        self.stdout.write(f"demo information sheet: version {DEMO_SHEET_VERSION} in {', '.join(DEMO_SHEET)}")

    def _intentions(self, user: Any) -> None:
        """Return intentions as members might give them in interviews: most adults of about six in ten
        households answer; of those, about half intend to return, most with their community."""
        import random

        from homeward.audit.services import Actor
        from homeward.registry.models import Person, ReturnIntention
        from homeward.registry.services.intentions import intention_record

        staff = Actor(user_id=user.pk, label=user.get_username())
        self._sheets(staff)  # also for a demo database made before sheets were records
        if ReturnIntention.objects.exists():
            return
        rng = random.Random(7)  # noqa: S311 - synthetic demo answers, not secrets
        rows: list[tuple[int, Any, int]] = list(
            Person.objects.filter(eligible=True, merged_into__isnull=True, erased_at__isnull=True,
                                  origin_settlement__isnull=False, death_date__isnull=True)
            .exclude(birth_date__isnull=True).order_by("pk").values_list("pk", "birth_date", "origin_settlement_id")
        )  # fmt: skip
        adults = [(pk, origin) for pk, born, origin in rows if date.today().year - born.year >= 19]
        places = sorted({origin for _, origin in adults})
        chosen = [a for a in adults if rng.random() < 0.6]
        bar = BarProgress(unit=" persons")
        bar.start(len(chosen), "demo intentions")
        counts: dict[str, int] = {}
        for pk, origin in chosen:
            decision = rng.choices(["intends", "undecided", "does_not_intend"], [0.55, 0.27, 0.18])[0]
            together = (
                rng.choices(["community", "own", "elsewhere"], [0.82, 0.1, 0.08])[0] if decision == "intends" else ""
            )
            elsewhere = together == "elsewhere" and len(places) > 1
            intention_record(
                actor=staff, person_id=pk, decision=decision, sheet_version=DEMO_SHEET_VERSION, channel="interview",
                horizon=rng.choice(["12_months", "5_years", "someday"]) if decision != "does_not_intend" else "",
                together=together if (together != "elsewhere" or elsewhere) else "community",
                destination_id=rng.choice([p for p in places if p != origin]) if elsewhere else None,
                conditions=rng.sample(list(ReturnIntention.CONDITIONS), rng.randint(1, 3)),
                needs=rng.sample(list(ReturnIntention.NEEDS), rng.randint(0, 2)),
            )  # fmt: skip
            counts[decision] = counts.get(decision, 0) + 1
            bar.advance(1)
        bar.close()
        self.stdout.write(
            f"demo intentions: {len(chosen):,} adults interviewed: {counts.get('intends', 0):,} intend to return, "
            f"{counts.get('undecided', 0):,} undecided, {counts.get('does_not_intend', 0):,} do not intend"
        )

    def _portal(self, user: Any) -> None:
        """Two information campaigns and registrations people made themselves on the portal, typed as on a phone
        (plain Latin letters), each matched in real time: the possible matches wait in the review queue."""
        import random

        from homeward.audit.services import Actor
        from homeward.linkage.services import records_match
        from homeward.portal.models import Campaign, Submission
        from homeward.portal.services import PORTAL, campaign_create, submission_receive, submissions_record_waiting
        from homeward.registry.models import Kinship, Person, SourceRecord
        from homeward.synth.gazetteer import english

        if Submission.objects.exists():
            return
        staff = Actor(user_id=user.pk, label=user.get_username())
        for code, name in DEMO_CAMPAIGNS:
            if not Campaign.objects.filter(code=code).exists():
                campaign_create(actor=staff, code=code, name=name)
        rng = random.Random(11)  # noqa: S311 - synthetic demo answers, not secrets
        adults = [
            p for p in Person.objects.filter(eligible=True, merged_into__isnull=True, origin_settlement__isnull=False,
                                             death_date__isnull=True)
            .exclude(given_name="").exclude(birth_date__isnull=True).select_related("origin_settlement")
            .order_by("pk")[:6000]
            if date.today().year - p.birth_date.year >= 19
        ]  # fmt: skip
        chosen = rng.sample(adults, min(DEMO_REGISTRATIONS, len(adults)))
        bar = BarProgress(unit=" registrations")
        bar.start(len(chosen), "demo portal")
        references = []
        for number, person in enumerate(chosen):
            children = Person.objects.filter(
                pk__in=Kinship.objects.filter(parent=person).values("child_id"), merged_into__isnull=True
            ).order_by("pk")[:3]
            family = [
                {"relation": "child", "given_name": english(c.given_name), "surname": english(c.surname),
                 "sex": c.sex, "birth_date": str(c.birth_date or "")}
                for c in children if c.birth_date is None or c.birth_date.year > person.birth_date.year
            ]  # fmt: skip
            decision = rng.choices(["intends", "undecided", "does_not_intend"], [0.55, 0.27, 0.18])[0]
            home = person.origin_settlement
            assert home is not None  # chosen for having one
            payload = {
                "sheet": DEMO_SHEET_VERSION, "sheet_language": "az",
                "consents": ["registration", *rng.sample(["contact", "planning"], rng.randint(0, 2))],
                "you": {"given_name": english(person.given_name), "surname": english(person.surname),
                        "patronymic": "", "sex": person.sex, "birth_date": str(person.birth_date), "birth_place": ""},
                "origin": {"settlement": home.gid, "title": home.title,
                           "left": "", "event": "", "how": "", "text": "", "self_displaced": False},
                "family": family, "contact": {"country": person.current_country, "city": "", "phone": "", "email": ""},
                "intentions": {"0": {
                    "decision": decision, "horizon": rng.choice(["12_months", "5_years", "someday"]) if decision ==
                    "intends" else "", "together": "community" if decision == "intends" else "",
                    "conditions": rng.sample(["security", "housing", "services", "livelihoods"], 2), "needs": [],
                }},
            }  # fmt: skip
            receipt = submission_receive(
                payload=payload, draft=f"demo-{number}-{rng.getrandbits(96):024x}",
                language=rng.choice(["az", "ru", "en"]),
                campaign_code=rng.choice([c for c, _ in DEMO_CAMPAIGNS] + [""]),
            )  # fmt: skip
            references.append(receipt.reference)
            bar.advance(1)
        bar.close()
        submissions_record_waiting(actor=staff)  # what the worker does, in one import
        queued = 0
        for reference in references:
            ids = list(SourceRecord.objects.filter(source__code="portal", external_id__startswith=f"{reference}-")
                       .values_list("pk", flat=True))  # fmt: skip
            queued += records_match(actor=PORTAL, record_ids=ids)
        self.stdout.write(
            f"demo portal: {len(chosen):,} self-registrations from {len(DEMO_CAMPAIGNS)} campaigns; {queued:,} "
            "possible matches wait for staff in the review queue"
        )

    def _scenarios(self, actor: Any) -> None:
        """A planning scenario from the census snapshot, solved; and a what-if copy in which the districts
        assessed only conditionally safe open a year after the start, solved too, to compare the two."""
        from homeward.planning.models import PlanScenario
        from homeward.planning.services import scenario_change, scenario_copy, scenario_create, scenario_solve

        if PlanScenario.objects.exists():
            return
        start = date.today().replace(day=1) + timedelta(days=62)
        start = start.replace(day=1)
        scenario = scenario_create(
            actor=actor, name="Return plan (demo)", start_date=start, phase_days=90, phases=12,
            seats_per_route=900, budget_per_phase=600_000, housing_start_percent=10, housing_step_percent=8,
            transport_cost_per_person=60, package_cost_per_person=240, cash_grant_per_person=150,
            notes="Demo scenario: cohorts from the demo census and intentions, gates from the demo assessments.",
            basis="intentions",
        )  # fmt: skip
        first = scenario_solve(actor=actor, scenario_id=scenario.pk, time_limit=5, progress=BarProgress(unit="%"))
        what_if = scenario_copy(
            actor=actor, scenario_id=scenario.pk, name="What if conditional districts open in a year"
        )
        opens = (start + timedelta(days=365)).isoformat()
        conditional = set(Settlement.objects.filter(admin_unit__code="hw:unit:c2").values_list("gid", flat=True))
        for place in scenario.instance["settlements"]:
            if place["id"] in conditional:
                scenario_change(actor=actor, scenario_id=what_if.pk, kind="gate", target=place["id"], value=opens)
        second = scenario_solve(actor=actor, scenario_id=what_if.pk, time_limit=5, progress=BarProgress(unit="%"))
        opened = len(conditional & {p["id"] for p in scenario.instance["settlements"]})
        self.stdout.write(
            f"demo scenarios: '{scenario.name}' places {first.persons_placed:,} of {first.persons_total:,} persons "
            f"(gap {first.gap:.2%}); its what-if copy with {opened} "
            f"more settlements open from {opens} places {second.persons_placed:,} (homeward planning compare "
            f"{scenario.pk} {what_if.pk})"
        )

    def _gazetteer(self, actor: Any) -> None:
        if Settlement.objects.exists():
            return
        raw = write_lpf(generate(settlements=300)).encode("utf-8")
        result = gazetteer_import(actor=actor, raw=raw, filename="synthetic-gazetteer.lpf.json")
        _assessments(actor)
        self.stdout.write(
            f"demo gazetteer: {result.settlements_created} fictional settlements with {result.names} names"
        )
