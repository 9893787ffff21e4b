"""Census pages: snapshots and public releases, their tables and charts, downloads, and starting a run.

A public release is shown from what it recorded as published (``CensusRelease.cells``): a withheld count is
``*`` and its value never reaches the page. The exact tables of a snapshot are for those who may see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from homeward.access.gates import or_404, require_capability
from homeward.access.roles import Cap
from homeward.census import charts, selectors, services
from homeward.census.engine.outputs import FORMATS, Output
from homeward.census.engine.tables import DIMENSIONS, TABLE_BY_CODE, TABLES, TOTAL, UNIVERSES
from homeward.census.gates import access_snapshot_by_id
from homeward.census.models import CensusRelease
from homeward.core.errors import NotFoundError, ValidationError
from homeward.gazetteer.models import Settlement

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
IMAGE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


# --- Reads ---------------------------------------------------------------------------------------------------


def _settlement_coordinates() -> dict[str, tuple[float, float]]:
    """Latitude and longitude of every settlement the gazetteer places, by gazetteer id (public data)."""
    rows = Settlement.objects.filter(latitude__isnull=False, longitude__isnull=False).values_list(
        "gid", "latitude", "longitude"
    )
    return {gid: (float(lat), float(lon)) for gid, lat, lon in rows if lat is not None and lon is not None}


def _release_or_404(release_id: int) -> CensusRelease:
    release = selectors.releases().filter(pk=release_id, public=True).first()
    if release is None:
        raise Http404
    return release


# --- Tables as the pages show them -----------------------------------------------------------------------------


@dataclass
class Row:
    heads: list[str]
    cells: list[tuple[str, bool]]  # (text, withheld)
    extra: list[str] = field(default_factory=list)
    total: bool = False


@dataclass
class Grid:
    """One table laid out: rows are the combinations of every dimension but the last, columns the last one's
    categories (the total last); a table of one dimension has one column of counts."""

    code: str
    title: str
    universe: str
    universe_definition: str
    lead_titles: list[str]
    column_title: str
    columns: list[str]
    rows: list[Row]
    extra_titles: list[str] = field(default_factory=list)
    withheld: str = ""


def _count(value: int | None) -> tuple[str, bool]:
    return ("*", True) if value is None else (number_format(value, force_grouping=True), False)


def _grid(cube: charts.Cube, withheld: str = "") -> Grid:
    definition = TABLE_BY_CODE[cube.code]
    universe = UNIVERSES[definition.universe]
    titles = [_(DIMENSIONS[d].title) for d in cube.dims]
    k = len(cube.dims)
    lead = list(range(k - 1)) if k > 1 else [0]
    grid = Grid(
        code=cube.code, title=_(definition.title), universe=_(universe.title),
        universe_definition=_(universe.definition), lead_titles=[titles[i] for i in lead],
        column_title=titles[-1] if k > 1 else "", columns=[], rows=[], withheld=_(withheld) if withheld else "",
    )  # fmt: skip
    labels = [{code: cube.label(i, code) for code in cube.axis(i)} for i in range(k)]
    if k == 1:
        grid.columns = [_("Count")]
        if definition.with_population:
            grid.extra_titles = [_("Population before displacement"), _("Year of the figure"), _("Coverage")]
        for code in cube.axis(0):
            value = cube.value(code)
            row = Row([labels[0][code]], [_count(value)], total=code == TOTAL)
            if definition.with_population:
                population, year = cube.population.get(code, (None, None))
                percent = "—"
                if value is not None and population:
                    percent = charts.percent_text(100 * value / population)
                row.extra = [
                    "—" if population is None else number_format(population, force_grouping=True),
                    "—" if year is None else str(year),
                    percent,
                ]
            grid.rows.append(row)
        return grid
    last = cube.axis(k - 1)
    grid.columns = [labels[-1][c] for c in last]
    for key in product(*[cube.axis(i) for i in lead]):
        grid.rows.append(
            Row(
                heads=[labels[i][c] for i, c in zip(lead, key, strict=True)],
                cells=[_count(cube.value(*key, c)) for c in last],
                total=TOTAL in key,
            )
        )
    return grid


# --- Charts -------------------------------------------------------------------------------------------------


@dataclass
class ChartView:
    kind: str
    title: str
    svg: str = ""
    svg_url: str = ""
    png_url: str = ""
    note: str = ""


def _chart(kind: str, cube: charts.Cube) -> charts.Chart:
    if kind == "pyramid":
        return charts.pyramid_of(cube)
    if kind == "origins":
        return charts.origin_map_of(cube, _settlement_coordinates())
    if kind == "intentions":
        return charts.intentions_of(cube)
    return charts.coverage_of(cube)


def _chart_views(cubes: dict[str, charts.Cube], *, prefix: str, url_name: str, pk: int) -> list[ChartView]:
    """Every chart the tables allow, with the note that stands in for one they do not."""
    found = []
    for kind in charts.KINDS:
        cube = cubes.get(charts.SOURCES[kind])
        if cube is None:
            note = _("This release publishes no table this chart is drawn from.")
            found.append(ChartView(kind, str(charts.TITLES[kind]), note=note))
            continue
        chart = _chart(kind, cube)
        if chart.empty:
            found.append(ChartView(kind, chart.title, note=_("Nothing to draw: every count is zero or withheld.")))
            continue
        found.append(
            ChartView(
                kind, chart.title, svg=charts.svg(chart, f"{prefix}-{kind}"),
                svg_url=reverse(f"{url_name}_svg", args=[pk, kind]),
                png_url=reverse(f"{url_name}_png", args=[pk, kind]),
            )
        )  # fmt: skip
    return found


def _image(chart: charts.Chart, fmt: str, stem: str) -> HttpResponse:
    data: str | bytes = charts.svg(chart) if fmt == "svg" else charts.png(chart)
    response = HttpResponse(data, content_type=IMAGE_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _download(name: str, data: bytes, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _download_or_back(request: HttpRequest, fmt: str, back: str, **target: int) -> HttpResponse:
    """A release's or snapshot's tables as a file; on a problem, back to its page with the message."""
    if fmt not in FORMATS:
        raise Http404
    try:
        name, data = services.census_download(actor=request.user, fmt=fmt, **target)
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return _download(name, data, fmt)


# --- Pages --------------------------------------------------------------------------------------------------


@require_capability(Cap.CENSUS_VIEW)
@require_GET
def index_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "census/index.html",
        {"snapshots": selectors.snapshots()[:20], "releases": selectors.releases().filter(public=True)[:20]},
    )


@require_capability(Cap.CENSUS_RUN)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    try:
        job = services.census_run_start(actor=request.user, note=request.POST.get("note", "")[:500])
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect("census_index")
    return redirect("job_detail", job_id=job.pk)


def _release_cubes(release: CensusRelease) -> tuple[dict[str, charts.Cube], dict[str, str], str]:
    """The release's published counts as cubes (labelled from the recomputed tables), the reason each wholly
    withheld table is withheld, and a problem to show when the tables no longer reproduce."""
    problem = ""
    recomputed: dict[str, Output] = {}
    try:
        outputs, _meta = services.release_outputs(release)
        recomputed = {o.table.code: o for o in outputs}
    except (ValidationError, NotFoundError) as exc:
        problem = str(exc)
    cubes, withheld = {}, {}
    for definition in TABLES:
        cells = release.cells.get(definition.code)
        if cells is None:
            continue
        output = recomputed.get(definition.code)
        cubes[definition.code] = charts.cube_of_release(
            definition.code, definition.dims, cells, output.table if output else None
        )
        reason = output.protected.withheld if output and output.protected else ""
        if not reason and cells and all(c[-2] is None for c in cells):
            reason = _("every count of this table is withheld")
        withheld[definition.code] = reason
    return cubes, withheld, problem


@require_capability(Cap.CENSUS_VIEW)
@require_GET
def release_page(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release_or_404(release_id)
    cubes, withheld, problem = _release_cubes(release)
    return render(
        request,
        "census/release.html",
        {
            "release": release, "problem": problem,
            "grids": [_grid(cube, withheld.get(code, "")) for code, cube in cubes.items()],
            "charts": _chart_views(cubes, prefix=f"release-{release.pk}", url_name="census_release_chart",
                                   pk=release.pk),
            "formats": FORMATS,
        },
    )  # fmt: skip


@require_capability(Cap.CENSUS_EXACT)
@require_GET
def snapshot_page(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = or_404(access_snapshot_by_id, request.user, snapshot_id)
    problem = ""
    cubes: dict[str, charts.Cube] = {}
    try:
        _snapshot, tables = services.internal_tables(snapshot.pk)
        cubes = {t.code: charts.cube_of_table(t) for t in tables}
    except ValidationError as exc:
        problem = str(exc)
    return render(
        request,
        "census/snapshot.html",
        {
            "snapshot": snapshot, "problem": problem, "grids": [_grid(cube) for cube in cubes.values()],
            "charts": _chart_views(cubes, prefix=f"snapshot-{snapshot.pk}", url_name="census_snapshot_chart",
                                   pk=snapshot.pk)
            if cubes else [],
            "releases": selectors.releases().filter(snapshot=snapshot, public=True),
            "formats": FORMATS,
        },
    )  # fmt: skip


@require_capability(Cap.CENSUS_VIEW)
@require_GET
def release_download(request: HttpRequest, release_id: int, fmt: str) -> HttpResponse:
    release = _release_or_404(release_id)
    return _download_or_back(request, fmt, reverse("census_release", args=[release.pk]), release_id=release.pk)


@require_capability(Cap.CENSUS_EXACT)
@require_GET
def snapshot_download(request: HttpRequest, snapshot_id: int, fmt: str) -> HttpResponse:
    snapshot = or_404(services.snapshot_get, snapshot_id)
    back = reverse("census_snapshot", args=[snapshot.pk])
    return _download_or_back(request, fmt, back, snapshot_id=snapshot.pk)


@require_capability(Cap.CENSUS_VIEW)
@require_GET
def release_chart(request: HttpRequest, release_id: int, chart: str, fmt: str) -> HttpResponse:
    release = _release_or_404(release_id)
    if chart not in charts.KINDS or fmt not in IMAGE_TYPES:
        raise Http404
    cubes, _withheld, _problem = _release_cubes(release)
    cube = cubes.get(charts.SOURCES[chart])
    if cube is None:
        raise Http404
    return _image(_chart(chart, cube), fmt, f"census-release-{release.pk}-{chart}")


@require_capability(Cap.CENSUS_EXACT)
@require_GET
def snapshot_chart(request: HttpRequest, snapshot_id: int, chart: str, fmt: str) -> HttpResponse:
    if chart not in charts.KINDS or fmt not in IMAGE_TYPES:
        raise Http404
    snapshot = or_404(access_snapshot_by_id, request.user, snapshot_id, purpose=f"chart {chart}")
    try:
        _snapshot, tables = services.internal_tables(snapshot.pk, [charts.SOURCES[chart]])
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect("census_index")
    return _image(_chart(chart, charts.cube_of_table(tables[0])), fmt, f"census-snapshot-{snapshot.pk}-{chart}")
