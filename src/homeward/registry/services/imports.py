"""Importing population-registry extracts: idempotent, resumable after a crash, and fast.

A file becomes an ``ImportBatch``. Rows are read as a stream and written in chunks; each chunk commits
in one transaction together with the batch's position (the last row it covers), so a run killed at any
point continues after the last committed chunk, and the result is that of one clean run. Records are
keyed by (source, record id, content hash): the same record imported again adds nothing, a changed one
becomes a new version of the record. Rows with problems are held (with the problem, row, field and
value) and never silently dropped. Family links are made after every row is in, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from homeward.audit.services import actor_of, audit_record
from homeward.core.crypto import encrypt_value
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.memory import collector_paused
from homeward.core.names import fold
from homeward.core.progress import NullProgress, Progress
from homeward.gazetteer.models import PlaceName, Settlement
from homeward.registry.engine.family import find_cycles, parent_born_after_child
from homeward.registry.engine.records import Checked, Problem, check_record, name_keys
from homeward.registry.models import (
    Displacement,
    DisplacementEvent,
    Household,
    HouseholdMember,
    ImportBatch,
    ImportProblem,
    Kinship,
    Person,
    Source,
    SourceRecord,
)
from homeward.registry.readers import SENSITIVE_FIELDS, FileProblem, compile_mapper, load_mapping, open_table
from homeward.registry.services.bulk import (
    allocate_ids,
    db_datetime,
    foreign_keys_checked_by_caller,
    insert_ignoring_duplicates,
    insert_rows,
    select_in,
    table,
)
from homeward.registry.services.persons import check_code, person_refresh_values

log = logging.getLogger("homeward.registry.imports")

CHUNK_ROWS = 20_000
MAX_PROBLEMS_PER_ROW = 20
UNRESOLVED = gettext_noop("no record with this id in this source (yet): link not made")
PARENT_YOUNGER = gettext_noop("the parent is born after the child: link not made")
CYCLE = gettext_noop("this link would make a person their own ancestor: link not made")

RECORD_COLUMNS = (
    "id", "source_id", "batch_id", "external_id", "content_hash", "row_number", "raw", "given_name", "surname",
    "previous_surname", "patronymic", "sex", "birth_date", "birth_place", "origin_text", "origin_settlement_id",
    "current_country", "current_city", "household_ref", "relation_to_head", "father_ref", "mother_ref",
    "spouse_ref", "death_date", "displacement_date", "displacement_event", "sensitive", "given_folded",
    "surname_folded", "surname_skeleton", "person_id", "superseded",
)  # fmt: skip
PROBLEM_COLUMNS = ("batch_id", "row_number", "external_id", "field", "value", "reason", "held", "raw")


@dataclass
class ImportOutcome:
    batch_id: int
    source: str
    state: str
    rows: int
    created: int
    updated: int
    unchanged: int
    held: int
    links: int
    warnings: int
    already_imported: bool = False
    resumed: bool = False
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SettlementResolver:
    """Origin settlement by gazetteer id, or by any of its names in any script (folded)."""

    def __init__(self) -> None:
        self.by_gid = dict(Settlement.objects.values_list("gid", "id"))
        # The names are folded only when a file gives a name rather than an id (a portal registration never does).
        self.names: tuple[dict[str, set[int]], dict[str, set[int]]] | None = None
        self.cache: dict[str, int | str] = {}

    def _names(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        if self.names is None:
            by_exact: dict[str, set[int]] = {}
            by_name: dict[str, set[int]] = {}
            for toponym, settlement_id in PlaceName.objects.values_list("toponym", "settlement_id"):
                by_exact.setdefault(toponym.strip().casefold(), set()).add(settlement_id)
                by_name.setdefault(fold(toponym), set()).add(settlement_id)
            self.names = (by_exact, by_name)
        return self.names

    def __call__(self, text: str) -> int | str:
        found = self.cache.get(text)
        if found is None:
            found = self._resolve(text)
            if len(self.cache) < 200_000:
                self.cache[text] = found
        return found

    def _resolve(self, text: str) -> int | str:
        if text in self.by_gid:
            return self.by_gid[text]
        # A name written exactly as the gazetteer has it decides before renderings that fold together.
        by_exact, by_name = self._names()
        exact = by_exact.get(text.strip().casefold())
        if exact and len(exact) == 1:
            return next(iter(exact))
        ids = by_name.get(fold(text))
        if not ids:
            return gettext_noop("no settlement of the gazetteer has this id or name")
        if len(ids) > 1:
            return gettext_noop("several settlements have this name: give the gazetteer id")
        return next(iter(ids))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _source_for(actor: Any, code: str, notices: list[str]) -> Source:
    source = Source.objects.filter(code=code).first()
    if source is None:
        check_code(code, field="source")
        source = Source.objects.create(code=code, name=code)
        audit_record(actor=actor, action="registry.source.created", target=source, data={"code": code})
        notices.append(f"source {code!r} was not known and has been created")
    return source


# The rows of a chunk are many small containers and none makes a cycle: without the pause, the cyclic collector
# would walk the whole (large, long-lived) heap every few thousand rows.
@collector_paused
def registry_import(
    *,
    actor: Any,
    source_code: str,
    path: Path,
    filename: str | None = None,
    mapping_text: str | None = None,
    mapping_name: str = "",
    stored_file: str = "",
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import one file of person records from ``source_code``. See the module's docstring."""
    progress = progress or NullProgress()
    filename = filename or path.name
    notices: list[str] = []
    try:
        mapping = load_mapping(mapping_text, name=mapping_name or "mapping") if mapping_text is not None else None
        table_ = open_table(path, filename=filename)
    except FileProblem as exc:
        raise ValidationError(str(exc), [(exc.where, exc.field, exc.reason)]) from exc
    with table_:
        try:
            mapper = compile_mapper(mapping, table_.header)
        except FileProblem as exc:
            raise ValidationError(str(exc), [(exc.where, exc.field, exc.reason)]) from exc
        if mapper.unknown_columns:
            names = ", ".join(repr(c) for c in mapper.unknown_columns)
            raise ValidationError(
                f"header: columns not known and not mapped: {names} (map them, or list them under [ignore])",
                [("header", c, "unknown column") for c in mapper.unknown_columns],
            )
        digest = _sha256(path)
        with transaction.atomic():
            source = _source_for(actor, source_code, notices)
            batch = ImportBatch.objects.select_for_update().filter(source=source, sha256=digest).first()
            resumed = False
            if batch is not None and batch.state == ImportBatch.State.DONE:
                return _outcome(batch, already_imported=True, notices=notices)
            if batch is None:
                batch = ImportBatch.objects.create(
                    source=source,
                    filename=filename[:255],
                    sha256=digest,
                    size_bytes=table_.size_bytes,
                    format=table_.format,
                    encoding=table_.encoding or "",
                    delimiter=table_.delimiter or "",
                    mapping_name=mapping_name[:255],
                    mapping_sha256=mapping.mapping_sha256 if mapping else "",
                    mapping_text=mapping_text or "",
                    header=list(table_.header),
                    stored_file=stored_file,
                    started_by_id=actor_of(actor).user_id,
                )
                audit_record(
                    actor=actor,
                    action="registry.import.started",
                    target=batch,
                    data={"source": source.code, "file": filename, "sha256": digest, "format": table_.format},
                )
            else:
                resumed = True
                ImportBatch.objects.filter(pk=batch.pk).update(state=ImportBatch.State.RUNNING, error="")
                audit_record(
                    actor=actor, action="registry.import.resumed", target=batch, data={"position": batch.position}
                )
        writer = _ChunkWriter(batch, source, actor)
        if mapping is None and len(mapper.fields) == len(table_.header):
            writer.simple, writer.header_fields = True, list(mapper.fields)
        writer.keep = _kept_columns(mapping, table_.header)
        progress.start(100, f"{source.code}: {filename}")
        shown = 0
        chunk: list[tuple[int, dict[str, str], list[Problem], list[str]]] = []
        try:
            for row_number, values, extra in table_.rows():
                if row_number <= batch.position:
                    continue
                canonical, problems = mapper(values)
                if extra:
                    problems.append(("", "", f"the row has {extra} more cells than the header has columns"))
                chunk.append((row_number, canonical, problems, values))
                if len(chunk) >= CHUNK_ROWS:
                    writer.write(chunk)
                    chunk = []
                    percent = int(table_.fraction_read() * 95)
                    progress.advance(percent - shown, f"{writer.batch.rows:,} rows")
                    shown = percent
            if chunk:
                writer.write(chunk)
        except FileProblem as exc:
            _discard(batch, actor, error=str(exc))
            raise ValidationError(str(exc), [(exc.where, exc.field, exc.reason)]) from exc
        progress.advance(95 - shown, "family links")
        writer.finish()
        progress.advance(5, "done")
    batch.refresh_from_db()
    return _outcome(batch, resumed=resumed, notices=notices)


def registry_retry_held(*, actor: Any, batch_id: int) -> ImportOutcome:
    """Check the held rows of an import again (after the gazetteer, the events or the source's settings were
    corrected): rows that now pass are imported, the others stay held with their current problems."""
    batch = ImportBatch.objects.select_related("source").filter(pk=batch_id).first()
    if batch is None:
        raise NotFoundError("import not found")
    if batch.state != ImportBatch.State.DONE:
        raise ValidationError("only a finished import's held rows can be tried again", [("import", "state", "")])
    try:
        mapping = load_mapping(batch.mapping_text, name=batch.mapping_name) if batch.mapping_text else None
        mapper = compile_mapper(mapping, batch.header)
    except FileProblem as exc:
        raise ValidationError(str(exc), [(exc.where, exc.field, exc.reason)]) from exc
    held: dict[int, list[str]] = {}
    for problem in ImportProblem.objects.filter(batch=batch, held=True, resolved_at__isnull=True).order_by("id"):
        if problem.row_number not in held and problem.raw:
            held[problem.row_number] = json.loads(problem.raw)
    before = (batch.created, batch.updated, batch.held)
    writer = _ChunkWriter(batch, batch.source, actor)
    rows = sorted(held.items())
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = []
        for row_number, raw in rows[start : start + CHUNK_ROWS]:
            canonical, problems = mapper(raw)
            chunk.append((row_number, canonical, problems, raw))
        writer.write(chunk, retry=True)
    writer.finish(action="registry.import.retried")
    batch.refresh_from_db()
    log.info("import %s: %s held rows tried again", batch.pk, len(rows))
    outcome = _outcome(batch)
    outcome.notices.append(
        f"{batch.created - before[0] + batch.updated - before[1]} of {len(rows)} held rows imported; "
        f"{batch.held} still held"
    )
    return outcome


def _outcome(batch: ImportBatch, **extra: Any) -> ImportOutcome:
    return ImportOutcome(
        batch_id=batch.pk,
        source=batch.source.code,
        state=batch.state,
        rows=batch.rows,
        created=batch.created,
        updated=batch.updated,
        unchanged=batch.unchanged,
        held=batch.held,
        links=batch.links,
        warnings=batch.warnings,
        **extra,
    )


class _ChunkWriter:
    """Writes chunks of rows of one batch, each in its own transaction with the batch's new position."""

    def __init__(self, batch: ImportBatch, source: Source, actor: Any) -> None:
        self.batch = batch
        self.source = source
        self.actor = actor
        self.resolve = SettlementResolver()
        self.events = dict(DisplacementEvent.objects.values_list("code", "id"))
        self.today = timezone.localdate()
        self.simple = False
        self.header_fields: list[str] = []
        # The columns kept in a record's raw cells: all but those the mapping ignores (None: all).
        self.keep: list[int] | None = None

    def write(self, chunk: list[tuple[int, dict[str, str], list[Problem], list[str]]], *, retry: bool = False) -> None:
        """Check and store one chunk; with ``retry``, the chunk is held rows tried again (their old problems
        are replaced in the same transaction, and the batch's position does not move)."""
        checked: list[tuple[int, Checked, list[str]]] = []
        problem_rows: list[tuple[Any, ...]] = []
        seen_here: dict[str, int] = {}
        code = self.source.code
        for row_number, values, problems, raw in chunk:
            claimed = values.get("source")
            if claimed and claimed != code:
                problems.append(("source", claimed[:200], f"the row belongs to source {claimed!r}, not {code!r}"))
            record = check_record(
                values, problems, resolve_settlement=self.resolve, events=self.events, today=self.today
            )
            if record is not None:
                first = seen_here.get(record.external_id)
                if first is not None:
                    problems.append(("record_id", record.external_id, f"the same record id is also in row {first}"))
                    record = None
                else:
                    seen_here[record.external_id] = row_number
            if record is None:
                problem_rows.extend(self._held(row_number, values, problems, raw))
            else:
                checked.append((row_number, record, raw))
        with foreign_keys_checked_by_caller(), transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=self.batch.pk)
            replaced = 0
            if retry:
                old = ImportProblem.objects.filter(
                    batch=batch, held=True, resolved_at__isnull=True, row_number__in=[c[0] for c in chunk]
                )
                replaced = len(set(old.values_list("row_number", flat=True)))
                old.delete()
            counts = self._store(batch, checked, problem_rows)
            last_row = batch.position if retry else chunk[-1][0]
            ImportBatch.objects.filter(pk=batch.pk).update(
                position=last_row,
                rows=batch.rows + (0 if retry else len(chunk)),
                created=batch.created + counts["created"],
                updated=batch.updated + counts["updated"],
                unchanged=batch.unchanged + counts["unchanged"],
                held=batch.held + counts["held"] - replaced,
            )
        self.batch.refresh_from_db()

    def _held(self, row_number: int, values: dict[str, str], problems: list[Problem], raw: list[str]) -> list[Any]:
        sealed = encrypt_value(json.dumps(raw, ensure_ascii=False), context="registry.problem.raw")
        ext = values.get("record_id", "")[:120]
        return [
            (self.batch.pk, row_number, ext, f[:64], str(v)[:200], r[:500], True, sealed)
            for f, v, r in problems[:MAX_PROBLEMS_PER_ROW]
        ]

    def _store(
        self, batch: ImportBatch, checked: list[tuple[int, Checked, list[str]]], problem_rows: list[tuple[Any, ...]]
    ) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "held": len({p[1] for p in problem_rows})}
        ids = [c.external_id for _, c, _ in checked]
        existing: dict[str, list[tuple[Any, ...]]] = {}
        for row in select_in(
            f"SELECT external_id, id, content_hash, batch_id, person_id, superseded, row_number "  # noqa: S608
            f"FROM {table(SourceRecord)} WHERE source_id = %s AND external_id IN {{in}}",
            [self.source.pk],
            ids,
        ):
            existing.setdefault(row[0], []).append(row)
        new_rows: list[tuple[int, Checked, list[str], int | None]] = []  # person id to reuse, or None
        superseded: list[int] = []
        for row_number, record, raw in checked:
            versions = existing.get(record.external_id) if existing else None
            if not versions:
                new_rows.append((row_number, record, raw, None))
                continue
            if any(v[3] == batch.pk for v in versions):
                # An earlier row of this very file already brought this id (rows before a resume included).
                first_row = min(v[6] for v in versions if v[3] == batch.pk)
                problem_rows.extend(
                    self._held(
                        row_number,
                        record.values,
                        [("record_id", record.external_id, f"the same record id is also in row {first_row}")],
                        raw,
                    )
                )
                counts["held"] += 1
                continue
            if any(v[2] == record.content_hash for v in versions):
                counts["unchanged"] += 1
                continue
            current = [v for v in versions if not v[5]]
            person_id = (current or versions)[-1][4]
            superseded.extend(v[1] for v in current)
            new_rows.append((row_number, record, raw, person_id))
            counts["updated"] += 1
        counts["created"] = sum(1 for r in new_rows if r[3] is None)
        source_id, batch_id, encode = self.source.pk, batch.pk, _RAW_JSON.encode
        records: list[tuple[Any, ...]] = []
        new_persons = iter(allocate_ids(Person, counts["created"]))
        simple, keep = self.simple, self.keep
        for (row_number, record, raw, reuse), record_id in zip(
            new_rows, allocate_ids(SourceRecord, len(new_rows)), strict=True
        ):
            v = record.values
            sealed = ""
            if v["phone"] or v["email"] or v["document_number"]:
                sensitive = {k: v[k] for k in SENSITIVE_FIELDS if v[k]}
                sealed = encrypt_value(_RAW_JSON.encode(sensitive), context="registry.record.sensitive")
                raw = _without_sensitive(raw, v)
            given, surname = v["given_name"], v["surname"]
            g_fold, s_fold, s_skel = name_keys(given, surname)
            # The raw row is kept when it says more than the normalised fields (a mapping, codes, spaces...).
            if simple and raw == [v[f] for f in self.header_fields]:
                as_received = None
            else:
                as_received = encode(raw if keep is None else [raw[i] for i in keep])
            records.append((
                record_id, source_id, batch_id, record.external_id, record.content_hash, row_number, as_received,
                given, surname, v["previous_surname"], v["patronymic"], v["sex"], record.birth_text,
                v["birth_place"], v["origin_settlement"], record.settlement_id, v["current_country"],
                v["current_city"], v["household_id"], v["relation_to_head"], v["father_record_id"],
                v["mother_record_id"], v["spouse_record_id"], record.death_text, record.displacement_text,
                v["displacement_event"], sealed, g_fold, s_fold, s_skel,
                next(new_persons) if reuse is None else reuse, False,
            ))  # fmt: skip
        if superseded:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table(SourceRecord)} SET superseded = %s WHERE id = %s",  # noqa: S608
                    [(True, i) for i in superseded],
                )
        insert_rows(SourceRecord, RECORD_COLUMNS, records)
        if counts["created"]:
            _make_identities(batch, records[0][0])
        if problem_rows:
            insert_rows(ImportProblem, PROBLEM_COLUMNS, problem_rows)
        return counts

    def finish(self, *, action: str = "registry.import.completed") -> None:
        """Identities, households, displacements and family links for the batch's records, in one
        transaction; then the batch is done."""
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=self.batch.pk)
            ImportBatch.objects.filter(pk=batch.pk).update(state=ImportBatch.State.LINKING)
            if batch.updated:
                _forget_superseded(batch)
            _households(batch)
            _displacements(batch)
            # Warnings are worked out again from all the batch's records: a retry of held rows links the rows
            # imported before too, and would otherwise report their warnings twice, or ones no longer true.
            ImportProblem.objects.filter(batch=batch, held=False, resolved_at__isnull=True).delete()
            links, warnings = _link_families(batch)
            refresh = set(
                SourceRecord.objects.filter(batch=batch, person__first_record__isnull=False)
                .exclude(person__first_record__batch=batch)
                .values_list("person_id", flat=True)
            )
            if refresh:
                person_refresh_values(person_ids=sorted(refresh))
            ImportBatch.objects.filter(pk=batch.pk).update(
                state=ImportBatch.State.DONE,
                links=batch.links + links,  # a retry adds to the links made before
                warnings=ImportProblem.objects.filter(batch=batch, held=False).count(),
                finished_at=timezone.now(),
            )
            batch.refresh_from_db()
            audit_record(
                actor=self.actor,
                action=action,
                target=batch,
                data={
                    "rows": batch.rows,
                    "created": batch.created,
                    "updated": batch.updated,
                    "unchanged": batch.unchanged,
                    "held": batch.held,
                    "links": links,
                    "warnings": warnings,
                },
            )
            # Rows held by earlier imports of this source are resolved once their record has come in.
            ImportProblem.objects.filter(
                batch__source=batch.source,
                held=True,
                resolved_at__isnull=True,
                external_id__in=SourceRecord.objects.filter(batch=batch).values("external_id"),
            ).exclude(batch=batch).update(resolved_at=timezone.now())
        self.batch = batch


_RAW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _make_identities(batch: ImportBatch, first_record_id: int) -> None:
    """A person for each new record of the chunk (linkage merges them later), made in SQL from the records,
    with the ids the records already point to."""
    rec, person = table(SourceRecord), table(Person)
    now = db_datetime(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {person} (id, given_name, surname, patronymic, sex, birth_date, birth_place, death_date,
                    origin_settlement_id, current_country, current_city, sensitive, given_folded, surname_folded,
                    surname_skeleton, eligible, restricted, first_record_id, created_at)
                SELECT r.person_id, r.given_name, r.surname, r.patronymic, r.sex, r.birth_date, r.birth_place,
                    r.death_date, r.origin_settlement_id, r.current_country, r.current_city, '', r.given_folded,
                    r.surname_folded, r.surname_skeleton, %s, %s, r.id, %s
                FROM {rec} r WHERE r.batch_id = %s AND r.id >= %s
                  AND NOT EXISTS (SELECT 1 FROM {person} p WHERE p.id = r.person_id)
                ORDER BY r.id""",  # noqa: S608
            [False, False, now, batch.pk, first_record_id],
        )
    # Contact details and documents are encrypted again under the person's own context.
    sealed_rows = SourceRecord.objects.filter(batch=batch, id__gte=first_record_id).exclude(sensitive="")
    for record in sealed_rows.only("id", "person_id", "sensitive"):
        assert record.person_id is not None
        Person.objects.filter(pk=record.person_id, first_record_id=record.pk).update(sensitive=record.sensitive)


def _kept_columns(mapping: Any, header: list[str]) -> list[int] | None:
    """Columns a mapping deliberately ignores are not kept with the record either."""
    if mapping is None or not mapping.ignore_columns:
        return None
    ignored = {c.strip() for c in mapping.ignore_columns}
    return [i for i, name in enumerate(header) if name.strip() not in ignored]


def _forget_superseded(batch: ImportBatch) -> None:
    """Links, displacements and household memberships that only an older version of a record gave are
    dropped; the new versions give theirs when the batch is linked."""
    newer = SourceRecord.objects.filter(batch=batch).values("external_id")
    older = SourceRecord.objects.filter(source_id=batch.source_id, superseded=True, external_id__in=newer).exclude(
        batch=batch
    )
    Kinship.objects.filter(source_record__in=older).delete()
    Displacement.objects.filter(source_record__in=older).delete()
    HouseholdMember.objects.filter(source_record__in=older).delete()


def _outer_first() -> str:
    """A join that keeps the batch's records as the outer loop: without statistics SQLite may otherwise scan
    the whole other table once per record (PostgreSQL plans this well by itself)."""
    return "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"


def _households(batch: ImportBatch) -> None:
    rec, hh, member = table(SourceRecord), table(Household), table(HouseholdMember)
    now = db_datetime(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {hh} (source_id, external_id, created_at)
                SELECT DISTINCT source_id, household_ref, %s FROM {rec}
                WHERE batch_id = %s AND household_ref <> '' ON CONFLICT DO NOTHING""",  # noqa: S608
            [now, batch.pk],
        )
        cursor.execute(
            f"""INSERT INTO {member} (household_id, person_id, relation, source_record_id)
                SELECT h.id, r.person_id, CASE WHEN r.relation_to_head = '' THEN 'other' ELSE r.relation_to_head END,
                       r.id
                FROM {rec} r {_outer_first()} {hh} h ON h.source_id = r.source_id AND h.external_id = r.household_ref
                WHERE r.batch_id = %s AND r.household_ref <> '' ON CONFLICT DO NOTHING""",  # noqa: S608
            [batch.pk],
        )
        cursor.execute(
            f"""SELECT r.person_id, h.id FROM {rec} r
                {_outer_first()} {hh} h ON h.source_id = r.source_id AND h.external_id = r.household_ref
                WHERE r.batch_id = %s AND r.relation_to_head = 'head' ORDER BY r.id""",  # noqa: S608
            [batch.pk],
        )
        heads = cursor.fetchall()
        cursor.executemany(f"UPDATE {hh} SET head_id = %s WHERE id = %s", heads)  # noqa: S608


def _displacements(batch: ImportBatch) -> None:
    rec, disp, event = table(SourceRecord), table(Displacement), table(DisplacementEvent)
    now = db_datetime(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {disp} (person_id, settlement_id, origin_text, date_from, event_id, evidence,
                    source_record_id, created_at)
                SELECT r.person_id, r.origin_settlement_id, r.origin_text, r.displacement_date, e.id,
                       %s || r.external_id, r.id, %s
                FROM {rec} r LEFT JOIN {event} e ON e.code = r.displacement_event
                WHERE r.batch_id = %s AND (r.displacement_event <> '' OR r.displacement_date IS NOT NULL)
                ON CONFLICT DO NOTHING""",  # noqa: S608
            [f"{batch.source.code} record ", now, batch.pk],
        )


def _without_sensitive(raw: list[str], values: dict[str, str]) -> list[str]:
    secret = {values[k] for k in SENSITIVE_FIELDS if values.get(k)}
    return ["" if cell.strip() in secret else cell for cell in raw]


# A partial date's earliest and latest day as text ("1950" -> "1950-01-01" / "1950-12-31"), in SQL that
# both databases run: comparing them tells a parent born after the child only when the dates prove it.
def _earliest(column: str) -> str:
    return f"({column} || substr('-01-01', length({column}) - 3))"


def _latest(column: str) -> str:
    return f"({column} || substr('-12-31', length({column}) - 3))"


def _link_families(batch: ImportBatch) -> tuple[int, int]:
    """Kinship from the records' parent and spouse references within the source. Returns (links, warnings)."""
    rec, kin, person, problem = table(SourceRecord), table(Kinship), table(Person), table(ImportProblem)
    now = db_datetime(timezone.now())
    before_links = Kinship.objects.count()
    before_problems = ImportProblem.objects.filter(batch=batch).count()
    join = _outer_first()
    for ref, kind in (("father_ref", "parent"), ("mother_ref", "parent"), ("spouse_ref", "spouse")):
        field_name = ref.replace("_ref", "_record_id")
        # Pairs where this batch brought the record, or the relative's record it points to.
        pairs = f"""
            FROM {rec} r
            {join} {rec} f ON f.source_id = r.source_id AND f.external_id = r.{ref} AND f.superseded = %s
            {join} {person} pf ON pf.id = f.person_id
            {join} {person} pc ON pc.id = r.person_id
            WHERE r.batch_id = %s AND r.superseded = %s AND r.{ref} <> '' AND f.person_id <> r.person_id"""
        impossible = (
            f"(pf.birth_date IS NOT NULL AND pc.birth_date IS NOT NULL "
            f"AND {_earliest('pf.birth_date')} > {_latest('pc.birth_date')})"
        )
        params = [False, batch.pk, False]
        if kind == "parent":
            ends, allowed = "f.person_id, r.person_id", f"AND NOT {impossible}"
        else:
            # A spouse link is stored once, the lower person id first.
            ends = (
                "CASE WHEN f.person_id < r.person_id THEN f.person_id ELSE r.person_id END, "
                "CASE WHEN f.person_id < r.person_id THEN r.person_id ELSE f.person_id END"
            )
            allowed = ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {kin} (kind, parent_id, child_id, adoptive, source_record_id, note, created_at)
                    SELECT %s, {ends}, %s, r.id, '', %s {pairs} {allowed}
                    ON CONFLICT DO NOTHING""",
                [kind, False, now, *params],
            )
            if kind == "parent":
                cursor.execute(
                    f"""INSERT INTO {problem} (batch_id, row_number, external_id, field, value, reason, held, raw)
                        SELECT %s, r.row_number, r.external_id, %s, r.{ref}, %s, %s, '' {pairs}
                        AND r.batch_id = %s AND {impossible}""",
                    [batch.pk, field_name, PARENT_YOUNGER, False, *params,
                     batch.pk],
                )  # fmt: skip
            cursor.execute(
                f"""INSERT INTO {problem} (batch_id, row_number, external_id, field, value, reason, held, raw)
                    SELECT %s, r.row_number, r.external_id, %s, r.{ref}, %s, %s, '' FROM {rec} r
                    WHERE r.batch_id = %s AND r.{ref} <> '' AND NOT EXISTS (
                        SELECT 1 FROM {rec} f WHERE f.source_id = r.source_id AND f.external_id = r.{ref})""",  # noqa: S608
                [batch.pk, field_name, UNRESOLVED, False, batch.pk],
            )
    _link_earlier_references(batch, now)
    cycles = _break_cycles(batch)
    if cycles:
        insert_rows(ImportProblem, PROBLEM_COLUMNS, cycles)
    links = Kinship.objects.count() - before_links
    return links, ImportProblem.objects.filter(batch=batch).count() - before_problems


def _link_earlier_references(batch: ImportBatch, now: Any) -> None:
    """Records of earlier imports that named a relative this batch has only now brought."""
    waiting = ImportProblem.objects.filter(
        batch__source_id=batch.source_id, reason=UNRESOLVED, resolved_at__isnull=True
    ).exclude(batch=batch)
    arrived = dict(
        SourceRecord.objects.filter(batch=batch, superseded=False, external_id__in=waiting.values("value")).values_list(
            "external_id", "person_id"
        )
    )
    if not arrived:
        return
    done = []
    links = []
    for problem in waiting.filter(value__in=list(arrived)):
        child = (
            SourceRecord.objects.filter(source_id=batch.source_id, external_id=problem.external_id, superseded=False)
            .select_related("person")
            .first()
        )
        relative = Person.objects.filter(pk=arrived[problem.value]).first()
        done.append(problem.pk)
        if child is None or child.person is None or child.person_id is None or relative is None:
            continue
        if relative.pk == child.person_id:
            continue
        if problem.field == "spouse_record_id":
            a, b = sorted((relative.pk, child.person_id))
            links.append(("spouse", a, b, False, child.pk, "", now))
        elif not parent_born_after_child(relative.birth_date, child.person.birth_date):
            links.append(("parent", relative.pk, child.person_id, False, child.pk, "", now))
    insert_ignoring_duplicates(
        Kinship, ("kind", "parent_id", "child_id", "adoptive", "source_record_id", "note", "created_at"), links
    )
    ImportProblem.objects.filter(pk__in=done).update(resolved_at=timezone.now())


def _break_cycles(batch: ImportBatch) -> list[tuple[Any, ...]]:
    """Remove this batch's parent links that close a cycle (someone their own ancestor); report each."""
    edges = list(Kinship.objects.filter(kind=Kinship.Kind.PARENT).values_list("parent_id", "child_id"))
    on_cycle = find_cycles(edges)
    if not on_cycle:
        return []
    doomed = Kinship.objects.filter(
        kind=Kinship.Kind.PARENT,
        parent_id__in=on_cycle,
        child_id__in=on_cycle,
        source_record__batch=batch,
    ).select_related("source_record")
    problems = []
    for link in doomed:
        record = link.source_record
        assert record is not None
        father = SourceRecord.objects.filter(
            source_id=batch.source_id, external_id=record.father_ref, superseded=False
        ).values_list("person_id", flat=True)
        field_name = "father_record_id" if record.father_ref and link.parent_id in father else "mother_record_id"
        problems.append((batch.pk, record.row_number, record.external_id, field_name,
                         getattr(record, field_name.replace("_record_id", "_ref")),
                         CYCLE, False, ""))  # fmt: skip
    Kinship.objects.filter(pk__in=[link.pk for link in doomed]).delete()
    return problems


def _discard(batch: ImportBatch, actor: Any, *, error: str) -> None:
    """Undo a batch that failed on a file-level problem found mid-way: what was stored before stays intact."""
    with transaction.atomic():
        records = SourceRecord.objects.filter(batch=batch)
        Displacement.objects.filter(source_record__in=records).delete()
        HouseholdMember.objects.filter(source_record__in=records).delete()
        Kinship.objects.filter(source_record__in=records).delete()
        created = list(Person.objects.filter(first_record__batch=batch).values_list("id", flat=True))
        reused = set(records.exclude(person_id__in=created).values_list("person_id", flat=True))
        external = list(records.values_list("external_id", flat=True))
        records.delete()
        Person.objects.filter(pk__in=created).delete()
        # The versions this batch had superseded are current again.
        for ext in external:
            latest = SourceRecord.objects.filter(source_id=batch.source_id, external_id=ext).order_by("-id").first()
            if latest is not None and latest.superseded:
                SourceRecord.objects.filter(pk=latest.pk).update(superseded=False)
        if reused:
            person_refresh_values(person_ids=sorted(reused))
        ImportProblem.objects.filter(batch=batch).delete()
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=ImportBatch.State.FAILED, error=error[:2000], position=0, rows=0, created=0, updated=0,
            unchanged=0, held=0, finished_at=timezone.now(),
        )  # fmt: skip
        audit_record(actor=actor, action="registry.import.failed", target=batch, data={"error": error[:500]})


MAX_UPLOAD_BYTES = 2**30


def registry_import_start(
    *, actor: Any, upload: Any, filename: str, source_code: str, mapping_text: str | None = None, mapping_name: str = ""
) -> Any:
    """Store an uploaded file encrypted (streamed, never whole in memory) and queue its import; returns the Job."""
    from homeward.audit.services import actor_of
    from homeward.core.files import store_encrypted_stream
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB", [("file", "size", "too large")]
        )
    check_code(source_code, field="source")
    if mapping_text is not None:
        try:
            load_mapping(mapping_text, name=mapping_name or "mapping")
        except FileProblem as exc:
            raise ValidationError(str(exc), [(exc.where, exc.field, exc.reason)]) from exc
    stored = store_encrypted_stream(upload, folder="imports")
    params = {
        "file": stored,
        "filename": filename[:255],
        "source": source_code,
        "mapping_text": mapping_text,
        "mapping_name": mapping_name[:255],
    }
    with transaction.atomic():
        job = job_enqueue(kind="registry.import", params=params, created_by_id=who.user_id)
        audit_record(
            actor=who, action="registry.import.queued", target=job, data={"file": filename, "source": source_code}
        )
    return job


def registry_eligibility_start(*, actor: Any) -> Any:
    from homeward.audit.services import actor_of
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    with transaction.atomic():
        job = job_enqueue(kind="registry.eligibility", params={}, created_by_id=who.user_id)
        audit_record(actor=who, action="registry.eligibility.queued", target=job)
    return job
