from datetime import date
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import BeforeValidator

from homeward.access.roles import Cap
from homeward.api.auth import Staff
from homeward.api.pagination import Page
from homeward.api.schemas import ERRORS, ID
from homeward.core.errors import NotFoundError, ValidationError
from homeward.gazetteer.formats import write_csv, write_lpf
from homeward.gazetteer.selectors import (
    export_gazetteer,
    export_places,
    latest_assessment,
    settlement_detail,
    settlement_search,
    settlements,
)
from homeward.gazetteer.services import gazetteer_import_start
from homeward.web.api import JobOut, job_out

router = Router(tags=["gazetteer"])


class SettlementOut(Schema):
    id: int
    gid: str
    title: str
    kind: str
    status: str
    latitude: float | None
    longitude: float | None
    admin_unit: str | None
    historical_admin_unit: str | None

    @staticmethod
    def resolve_admin_unit(s: Any) -> str | None:
        return s.admin_unit.code if s.admin_unit else None

    @staticmethod
    def resolve_historical_admin_unit(s: Any) -> str | None:
        return s.historical_admin_unit.code if s.historical_admin_unit else None


# A partial date (YYYY, YYYY-MM or YYYY-MM-DD) as the text it is stored as.
PartialDateText = Annotated[str | None, BeforeValidator(lambda value: None if value is None else str(value))]


class NameOut(Schema):
    toponym: str
    lang: str
    kind: str
    start_earliest: PartialDateText
    start_latest: PartialDateText
    end_earliest: PartialDateText
    end_latest: PartialDateText
    citations: list[dict[str, str]]


class PopulationOut(Schema):
    year: int
    total: int | None
    community: int | None
    source: str


class AssessmentOut(Schema):
    level: str
    assessed_on: date
    source: str
    of_unit: bool


class SettlementDetailOut(SettlementOut):
    names: list[NameOut]
    population: list[PopulationOut]
    links: list[dict[str, str]]
    security: AssessmentOut | None

    @staticmethod
    def resolve_names(s: Any) -> list[Any]:
        return list(s.names.all())

    @staticmethod
    def resolve_population(s: Any) -> list[Any]:
        return list(s.population.all())

    @staticmethod
    def resolve_links(s: Any) -> list[dict[str, str]]:
        return [{"type": link.type, "identifier": link.identifier} for link in s.links.all()]

    @staticmethod
    def resolve_security(s: Any) -> dict[str, Any] | None:
        gate = latest_assessment(s)
        if gate is None:
            return None
        return {
            "level": gate.level,
            "assessed_on": gate.assessed_on,
            "source": gate.source,
            "of_unit": gate.settlement_id is None,
        }


class SearchHitOut(Schema):
    settlement_id: int
    title: str
    matched: str
    lang: str
    unit: str
    status: str


class ListFilter(Schema):
    q: str = ""
    status: str = ""


@router.get(
    "/settlements",
    response={200: list[SettlementOut], **ERRORS},
    auth=Staff(Cap.GAZETTEER_VIEW),
    operation_id="gazetteer_settlements_list",
    summary="Settlements, filtered by name (any script) and status",
)
@paginate(Page)
def list_settlements(request: HttpRequest, filters: Query[ListFilter]) -> Any:
    return settlements(query=filters.q[:100], status=filters.status[:20])


@router.get(
    "/settlements/{settlement_id}",
    response={200: SettlementDetailOut, **ERRORS},
    auth=Staff(Cap.GAZETTEER_VIEW),
    operation_id="gazetteer_settlement_get",
    summary="One settlement with its names, population figures, links and the security gate",
)
def get_settlement(request: HttpRequest, settlement_id: ID) -> Any:
    s = settlement_detail(settlement_id)
    if s is None:
        raise NotFoundError("settlement not found")
    return s


class SearchQuery(Schema):
    q: str
    limit: int = 10


@router.get(
    "/search",
    response={200: list[SearchHitOut], **ERRORS},
    auth=Staff(Cap.GAZETTEER_VIEW),
    operation_id="gazetteer_search",
    summary="Autocomplete: settlements by any name, in any script",
)
def search(request: HttpRequest, params: Query[SearchQuery]) -> Any:
    return settlement_search(params.q[:100], limit=max(1, min(params.limit, 50)))


@router.get(
    "/export/{fmt}",
    auth=Staff(Cap.GAZETTEER_VIEW),
    response={200: None, **ERRORS},
    operation_id="gazetteer_export",
    summary="The whole gazetteer as Linked Places JSON (lpf) or CSV (csv)",
)
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "lpf":
        return HttpResponse(write_lpf(export_gazetteer()), content_type="application/ld+json")
    if fmt == "csv":
        return StreamingHttpResponse(write_csv(export_places()), content_type="text/csv")  # type: ignore[return-value]
    raise NotFoundError("unknown format: use lpf or csv")


@router.post(
    "/import",
    response={202: JobOut, **ERRORS},
    auth=Staff(Cap.GAZETTEER_IMPORT),
    operation_id="gazetteer_import",
    summary="Upload an LPF or CSV file; it is imported by a background job",
)
def import_file(request: HttpRequest, file: File[UploadedFile]) -> Any:
    if file.size and file.size > 200 * 1024 * 1024:
        raise ValidationError("the file is larger than 200 MB", [("file", "size", "too large")])
    job = gazetteer_import_start(actor=request.user, raw=file.read(), filename=file.name or "")
    return Status(202, job_out(job))
