from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from homeward.access.roles import Cap
from homeward.api.auth import Staff
from homeward.api.pagination import Page
from homeward.api.schemas import ERRORS, ID
from homeward.gazetteer.api import PartialDateText
from homeward.registry import selectors
from homeward.registry.gates import (
    access_batch_by_id,
    access_household_by_id,
    access_person_by_id,
    access_person_search,
)
from homeward.registry.services.imports import registry_import_start
from homeward.web.api import JobOut, job_out

router = Router(tags=["registry"])


class PersonOut(Schema):
    id: int
    given_name: str
    surname: str
    patronymic: str
    sex: str
    birth_date: PartialDateText
    death_date: PartialDateText
    birth_place: str
    origin_settlement: str | None
    current_country: str
    current_city: str
    generation: int | None
    eligible: bool

    @staticmethod
    def resolve_origin_settlement(p: Any) -> str | None:
        return p.origin_settlement.gid if p.origin_settlement else None


class EvidenceOut(Schema):
    value: str
    records: list[str]


class FieldOut(Schema):
    field: str
    value: str
    supported_by: list[str]
    other_values: list[EvidenceOut]
    decided: bool


class ChainStepOut(Schema):
    person_id: int
    generation: int
    displaced_from: list[str]


class PersonDetailOut(PersonOut):
    provenance: list[FieldOut]
    eligibility_chain: list[ChainStepOut]
    parents: list[int]
    children: list[int]
    spouses: list[int]
    households: list[int]


def _record_label(record: Any) -> str:
    return f"{record.source.code}:{record.external_id}"


class PersonFilter(Schema):
    q: str = ""
    generation: int | None = None
    country: str = ""
    eligible: bool | None = None
    origin: str = ""


@router.get(
    "/persons",
    response={200: list[PersonOut], **ERRORS},
    auth=Staff(Cap.REGISTRY_VIEW),
    operation_id="registry_persons_list",
    summary="Persons by name in any script, generation, country, eligibility or origin settlement (gazetteer id)",
)
@paginate(Page)
def list_persons(request: HttpRequest, filters: Query[PersonFilter]) -> Any:
    from homeward.gazetteer.models import Settlement

    origin_id = None
    if filters.origin:
        origin_id = Settlement.objects.filter(gid=filters.origin[:120]).values_list("id", flat=True).first() or -1
    generation = filters.generation if filters.generation is None or 0 <= filters.generation <= 50 else -1
    return access_person_search(
        request.user,
        query=filters.q[:100], generation=generation, country=filters.country[:2], eligible=filters.eligible,
        origin_settlement_id=origin_id,
    )  # fmt: skip


@router.get(
    "/persons/{person_id}",
    response={200: PersonDetailOut, **ERRORS},
    auth=Staff(Cap.REGISTRY_VIEW),
    operation_id="registry_person_get",
    summary="One person: values with their sources, the eligibility chain, family links (the read is audited)",
)
def get_person(request: HttpRequest, person_id: ID) -> Any:
    person = access_person_by_id(request.user, person_id, purpose="api")
    relatives = selectors.person_relatives(person)
    data: dict[str, Any] = {}
    data["provenance"] = [
        {
            "field": f.field,
            "value": f.value,
            "supported_by": [_record_label(r) for r in f.supporting],
            "other_values": [
                {"value": o.value, "records": [_record_label(r) for r in o.records]} for o in f.contradicting
            ],
            "decided": f.decision is not None,
        }
        for f in selectors.person_provenance(person)
    ]
    data["eligibility_chain"] = [
        {
            "person_id": step.person.pk,
            "generation": step.generation,
            "displaced_from": [d.settlement.gid for d in step.displacements if d.settlement],
        }
        for step in selectors.eligibility_chain(person)
    ]
    data["parents"] = [p.pk for _, p in relatives["parents"]]
    data["children"] = [p.pk for _, p in relatives["children"]]
    data["spouses"] = [p.pk for _, p in relatives["spouses"]]
    data["households"] = [m.household_id for m in selectors.person_households(person)]
    for name, value in data.items():
        setattr(person, name, value)  # read by the response schema; never saved
    return person


class MemberOut(Schema):
    person_id: int
    relation: str


class HouseholdOut(Schema):
    id: int
    source: str | None
    external_id: str
    head_id: int | None
    members: list[MemberOut]


@router.get(
    "/households/{household_id}",
    response={200: HouseholdOut, **ERRORS},
    auth=Staff(Cap.REGISTRY_VIEW),
    operation_id="registry_household_get",
    summary="One household and its members (the read is audited)",
)
def get_household(request: HttpRequest, household_id: ID) -> Any:
    household = access_household_by_id(request.user, household_id)
    return {
        "id": household.pk,
        "source": household.source.code if household.source else None,
        "external_id": household.external_id,
        "head_id": household.head_id,
        "members": [{"person_id": m.person_id, "relation": m.relation} for m in selectors.household_members(household)],
    }


class BatchOut(Schema):
    id: int
    source: str
    filename: str
    sha256: str
    format: str
    state: str
    rows: int
    created: int
    updated: int
    unchanged: int
    held: int
    links: int
    warnings: int

    @staticmethod
    def resolve_source(b: Any) -> str:
        return str(b.source.code)


class ProblemOut(Schema):
    row: int
    record_id: str
    field: str
    value: str
    reason: str
    held: bool


@router.get(
    "/imports",
    response={200: list[BatchOut], **ERRORS},
    auth=Staff(Cap.REGISTRY_IMPORT),
    operation_id="registry_imports_list",
    summary="Imports, newest first",
)
@paginate(Page)
def list_imports(request: HttpRequest) -> Any:
    return selectors.batches()


@router.get(
    "/imports/{batch_id}/problems",
    response={200: list[ProblemOut], **ERRORS},
    auth=Staff(Cap.REGISTRY_IMPORT),
    operation_id="registry_import_problems",
    summary="The problems of one import: row, record id, field, value, reason, held or warning",
)
@paginate(Page)
def import_problems(request: HttpRequest, batch_id: ID) -> Any:
    batch = access_batch_by_id(request.user, batch_id)
    return [
        {"row": p.row_number, "record_id": p.external_id, "field": p.field, "value": p.value, "reason": p.reason,
         "held": p.held}
        for p in batch.problems.order_by("row_number", "id")[:100_000]
    ]  # fmt: skip


@router.post(
    "/imports",
    response={202: JobOut, **ERRORS},
    auth=Staff(Cap.REGISTRY_IMPORT),
    operation_id="registry_import",
    summary="Upload person records (CSV, XLSX, Parquet) of a source, optionally with a TOML mapping; a job imports it",
)
def import_file(
    request: HttpRequest,
    source: Form[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]],
    file: File[UploadedFile],
    mapping: UploadedFile | None = File(None),  # type: ignore[type-arg]  # noqa: B008 (an optional file, in Ninja)
) -> Any:
    from homeward.core.errors import ValidationError

    try:
        mapping_text = mapping.read().decode("utf-8") if mapping else None
    except UnicodeDecodeError:
        raise ValidationError("the mapping is not UTF-8 text", [("mapping", "encoding", "not UTF-8")]) from None
    job = registry_import_start(
        actor=request.user, upload=file, filename=file.name or "upload", source_code=source[:64],
        mapping_text=mapping_text, mapping_name=(mapping.name or "") if mapping else "",
    )  # fmt: skip
    return Status(202, job_out(job))
