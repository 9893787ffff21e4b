from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from homeward.access.gates import require_capability
from homeward.access.roles import Cap
from homeward.core.errors import ValidationError
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.charts import population_svg
from homeward.gazetteer.formats import NameRec, write_csv, write_lpf
from homeward.gazetteer.forms import AssessmentForm, FilterForm, ImportForm, NameForm, PopulationForm, SettlementForm
from homeward.gazetteer.models import Settlement
from homeward.gazetteer.selectors import (
    export_gazetteer,
    export_places,
    gazetteer_counts,
    latest_assessment,
    settlement_detail,
    settlement_search,
    settlements,
)
from homeward.gazetteer.services import (
    gazetteer_import_start,
    place_name_add,
    place_name_remove,
    population_record,
    security_assess,
    settlement_update,
)

MAX_UPLOAD = 200 * 1024 * 1024


@require_capability(Cap.GAZETTEER_VIEW)
@require_GET
def settlement_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        unit = form.cleaned_data.get("unit")
        filters = {"query": form.cleaned_data["q"], "unit_id": unit.pk if unit else None,
                   "status": form.cleaned_data["status"]}  # fmt: skip
    page = Paginator(settlements(**filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "gazetteer/settlement_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "counts": gazetteer_counts()},
    )


@require_capability(Cap.GAZETTEER_VIEW)
@require_GET
def autocomplete(request: HttpRequest) -> HttpResponse:
    """The suggestions under the search box, as an htmx fragment."""
    hits = settlement_search(request.GET.get("q", "")[:100], limit=8)
    return render(request, "gazetteer/_suggestions.html", {"hits": hits})


def _settlement_or_404(settlement_id: int) -> Settlement:
    settlement = settlement_detail(settlement_id)
    if settlement is None:
        raise Http404
    return settlement


def _partial(value: str, form: Any, field: str) -> PartialDate | None:
    if not value.strip():
        return None
    try:
        return PartialDate.parse(value)
    except ValueError as exc:
        form.add_error(field, str(exc))
        return None


def _detail(request: HttpRequest, settlement: Settlement, bound: dict[str, Any] | None = None) -> HttpResponse:
    forms: dict[str, Any] = {
        "edit": SettlementForm(initial={f: getattr(settlement, f) for f in SettlementForm.base_fields}),
        "name": NameForm(),
        "population": PopulationForm(),
        "assessment": AssessmentForm(),
        **(bound or {}),
    }
    return render(
        request,
        "gazetteer/settlement_detail.html",
        {
            "s": settlement,
            "names": list(settlement.names.all()),
            "population": list(settlement.population.all()),
            "assessment": latest_assessment(settlement),
            "assessments": list(settlement.assessments.all()),
            "forms": forms,
            "tile_url": settings.HOMEWARD_TILE_URL,
        },
        status=400 if bound else 200,
    )


@require_capability(Cap.GAZETTEER_VIEW)
@require_GET
def settlement_page(request: HttpRequest, settlement_id: int) -> HttpResponse:
    return _detail(request, _settlement_or_404(settlement_id))


def _saved(request: HttpRequest, settlement: Settlement) -> HttpResponse:
    messages.success(request, _("Saved."))
    return redirect("settlement_detail", settlement_id=settlement.pk)


def _submit(request: HttpRequest, settlement_id: int, key: str, form_class: Any, save: Any) -> HttpResponse:
    """Validate the posted form and save through ``save(settlement, data, form)``; on error show the page again."""
    settlement = _settlement_or_404(settlement_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            save(settlement, form.cleaned_data, form)
        except ValidationError as exc:
            form.add_error(None, str(exc))
        if not form.errors:
            return _saved(request, settlement)
    return _detail(request, settlement, {key: form})


@require_capability(Cap.GAZETTEER_EDIT)
@require_POST
def settlement_edit(request: HttpRequest, settlement_id: int) -> HttpResponse:
    def save(s: Settlement, data: dict[str, Any], form: Any) -> None:
        settlement_update(actor=request.user, settlement_id=s.pk, changes=data)

    return _submit(request, settlement_id, "edit", SettlementForm, save)


@require_capability(Cap.GAZETTEER_EDIT)
@require_POST
def name_add(request: HttpRequest, settlement_id: int) -> HttpResponse:
    def save(s: Settlement, data: dict[str, Any], form: Any) -> None:
        start, end = _partial(data["start"], form, "start"), _partial(data["end"], form, "end")
        if form.errors:
            return
        citations = [{"label": data["citation"]}] if data["citation"] else []
        name = NameRec(data["toponym"], data["lang"], data["kind"], start, start, end, end, citations)
        place_name_add(actor=request.user, settlement_id=s.pk, name=name)

    return _submit(request, settlement_id, "name", NameForm, save)


@require_capability(Cap.GAZETTEER_EDIT)
@require_POST
def name_remove(request: HttpRequest, settlement_id: int, name_id: int) -> HttpResponse:
    settlement = _settlement_or_404(settlement_id)
    if not settlement.names.filter(pk=name_id).exists():
        raise Http404
    place_name_remove(actor=request.user, name_id=name_id)
    return _saved(request, settlement)


@require_capability(Cap.GAZETTEER_EDIT)
@require_POST
def population_add(request: HttpRequest, settlement_id: int) -> HttpResponse:
    def save(s: Settlement, data: dict[str, Any], form: Any) -> None:
        population_record(actor=request.user, settlement_id=s.pk, **data)

    return _submit(request, settlement_id, "population", PopulationForm, save)


@require_capability(Cap.SECURITY_ASSESS)
@require_POST
def assessment_add(request: HttpRequest, settlement_id: int) -> HttpResponse:
    def save(s: Settlement, data: dict[str, Any], form: Any) -> None:
        security_assess(actor=request.user, settlement_id=s.pk, **data)

    return _submit(request, settlement_id, "assessment", AssessmentForm, save)


@require_capability(Cap.GAZETTEER_VIEW)
@require_GET
def population_chart(request: HttpRequest, settlement_id: int) -> HttpResponse:
    settlement = _settlement_or_404(settlement_id)
    figures = list(settlement.population.all())
    svg = population_svg(
        [f.year for f in figures],
        [f.total for f in figures],
        [f.community for f in figures],
        labels=(_("Total"), _("Community"), _("Population of %(name)s") % {"name": settlement.title}),
    )
    return HttpResponse(svg, content_type="image/svg+xml")


@require_capability(Cap.GAZETTEER_VIEW)
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "lpf":
        response: HttpResponse = HttpResponse(write_lpf(export_gazetteer()), content_type="application/ld+json")
        response["Content-Disposition"] = 'attachment; filename="gazetteer.lpf.json"'
        return response
    if fmt == "csv":
        streaming = StreamingHttpResponse(write_csv(export_places()), content_type="text/csv; charset=utf-8")
        streaming["Content-Disposition"] = 'attachment; filename="gazetteer.csv"'
        return streaming  # type: ignore[return-value]
    raise Http404


@require_capability(Cap.GAZETTEER_IMPORT)
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", _("The file is larger than 200 MB."))
        else:
            job = gazetteer_import_start(actor=request.user, raw=upload.read(), filename=upload.name)
            return redirect("job_detail", job_id=job.pk)
    return render(request, "gazetteer/import.html", {"form": form})
