"""Registry pages: person search, a person with provenance, eligibility and family, households, imports,
and data subjects' requests."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from homeward.access.gates import or_404, require_capability, user_can
from homeward.access.roles import Cap
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.models import Settlement
from homeward.registry import selectors
from homeward.registry.forms import (
    ChooseValueForm,
    CloseRequestForm,
    ConsentForm,
    EventForm,
    ImportForm,
    InformationSheetForm,
    IntentionForm,
    KinshipForm,
    OriginRegionForm,
    PersonFilterForm,
    SourceForm,
    SubjectRequestForm,
)
from homeward.registry.gates import (
    access_batch_by_id,
    access_household_by_id,
    access_person_by_id,
    access_person_search,
    access_subject_request_by_id,
)
from homeward.registry.models import Kinship, Person, ReturnIntention, SubjectRequest
from homeward.registry.services import persons as person_services
from homeward.registry.services.imports import (
    registry_eligibility_start,
    registry_import_start,
    registry_retry_held,
)
from homeward.registry.services.intentions import intention_record, intention_withdraw
from homeward.registry.services.sheets import information_sheet_publish


def _fail(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, str(exc))


def _apply(
    request: HttpRequest, person: Any, form: Any, act: Callable[[dict[str, Any]], Any], done: str
) -> HttpResponse:
    """A form posted from a person's page: run the service, say how it went, and go back to the page."""
    if not form.is_valid():
        messages.error(request, _("The form was not filled in correctly."))
    else:
        try:
            act(form.cleaned_data)
            messages.success(request, done)
        except NotFoundError:
            messages.error(request, _("There is no person with that number."))
        except ValidationError as exc:
            _fail(request, exc)
    return redirect("person_detail", person_id=person.pk)


@require_capability(Cap.REGISTRY_VIEW)
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    form = PersonFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    origin = None
    if form.is_valid():
        data = form.cleaned_data
        origin = Settlement.objects.filter(pk=data["origin"]).first() if data["origin"] else None
        filters = {
            "query": data["q"],
            "generation": data["generation"],
            "country": data["country"],
            "eligible": data["eligible"],
            "origin_settlement_id": origin.pk if origin else None,
        }
    searched = any(v not in (None, "") for v in filters.values())
    items = access_person_search(request.user, **filters) if searched else Person.objects.none()
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registry/person_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "searched": searched,
            "origin": origin,
            "counts": selectors.registry_counts(),
            "generations": selectors.generation_counts(),
        },
    )


@require_capability(Cap.REGISTRY_VIEW)
@require_GET
def person_page(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id)
    versions = selectors.published_versions()
    return render(
        request,
        "registry/person_detail.html",
        {
            "person": person,
            "provenance": selectors.person_provenance(person),
            "chain": selectors.eligibility_chain(person),
            "relatives": selectors.person_relatives(person),
            "households": selectors.person_households(person),
            "displacements": person.displacements.select_related("settlement", "event", "source_record"),
            "consents": person.consents.all(),
            "requests": person.subject_requests.all(),
            "records": person.records.select_related("source", "batch").order_by("superseded", "-source__trust"),
            "choose_form": ChooseValueForm(),
            "request_form": SubjectRequestForm(),
            "consent_form": ConsentForm(versions=versions),
            "intentions": _intentions(person),
            "intention_form": IntentionForm(versions=versions),
            "sheet_versions": versions,
            "staff_channels": [c for c in ReturnIntention.Channel.choices if c[0] != ReturnIntention.Channel.PORTAL],
            "kinship_form": KinshipForm(),
            "sensitive": selectors.person_sensitive(person) if user_can(request.user, Cap.REGISTRY_EDIT) else {},
        },
    )


@require_capability(Cap.REGISTRY_VIEW)
@require_GET
def person_tree(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="family tree")
    try:
        up = max(1, min(int(request.GET.get("up", 3)), 8))
        down = max(1, min(int(request.GET.get("down", 3)), 8))
    except ValueError:
        up, down = 3, 3
    ancestors, descendants = selectors.family_tree(person, up=up, down=down)
    return render(
        request,
        "registry/person_tree.html",
        {"person": person, "ancestors": ancestors, "descendants": descendants, "up": up, "down": down},
    )


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_choose(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="edit")

    def act(data: dict[str, Any]) -> None:
        person_services.person_choose_value(
            actor=request.user, person_id=person.pk, field=data["field"], record_id=data["record"],
            value=data["value"] if data["record"] is None else None, reason=data["reason"],
        )  # fmt: skip

    return _apply(request, person, ChooseValueForm(request.POST), act,
                  _("The value was chosen and the decision recorded."))  # fmt: skip


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_link(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="edit")

    def act(data: dict[str, Any]) -> None:
        role, other = data["role"], data["relative"]
        kind = Kinship.Kind.SPOUSE if role == "spouse" else Kinship.Kind.PARENT
        parent, child = (other, person.pk) if role == "parent" else (person.pk, other)
        access_person_by_id(request.user, other, purpose="link")
        person_services.kinship_add(actor=request.user, kind=kind, parent_id=parent, child_id=child,
                                    adoptive=data["adoptive"], note=data["note"])  # fmt: skip

    return _apply(request, person, KinshipForm(request.POST), act, _("The family link was recorded."))


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_unlink(request: HttpRequest, person_id: int, link_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="edit")
    if not Kinship.objects.filter(Q(parent=person) | Q(child=person), pk=link_id).exists():
        raise Http404
    try:
        person_services.kinship_remove(actor=request.user, link_id=link_id, reason=request.POST.get("reason", ""))
        messages.success(request, _("The family link was removed."))
    except ValidationError as exc:
        _fail(request, exc)
    return redirect("person_detail", person_id=person.pk)


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_consent(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="consent")

    def act(data: dict[str, Any]) -> None:
        person_services.consent_record(actor=request.user, person_id=person.pk, **data)

    return _apply(request, person, ConsentForm(request.POST), act, _("The consent was recorded."))


def _intentions(person: Person) -> list[ReturnIntention]:
    """The person's intention versions, newest first, with their conditions and needs in words."""
    found = list(person.intentions.select_related("destination", "recorded_by"))
    for i in found:
        i.condition_labels = [str(ReturnIntention.CONDITIONS.get(c, c)) for c in i.conditions]  # type: ignore[attr-defined]
        i.need_labels = [str(ReturnIntention.NEEDS.get(n, n)) for n in i.needs]  # type: ignore[attr-defined]
    return found


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_intention(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="return intention")

    def act(data: dict[str, Any]) -> None:
        gid = data.pop("destination", "").strip()
        found = Settlement.objects.filter(gid=gid).values_list("pk", flat=True).first() if gid else None
        intention_record(actor=request.user, person_id=person.pk, destination_id=found or (-1 if gid else None), **data)

    return _apply(request, person, IntentionForm(request.POST), act, _("The return intention was recorded."))


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def person_intention_withdraw(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="return intention")
    try:
        intention_withdraw(actor=request.user, person_id=person.pk, channel=request.POST.get("channel", ""))
        messages.success(request, _("The return intention was withdrawn."))
    except (ValidationError, NotFoundError) as exc:
        messages.error(request, str(exc))
    return redirect("person_detail", person_id=person.pk)


@require_capability(Cap.REGISTRY_EDIT)
@require_POST
def consent_withdraw(request: HttpRequest, person_id: int, consent_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="consent")
    if not person.consents.filter(pk=consent_id).exists():
        raise Http404
    person_services.consent_withdraw(actor=request.user, consent_id=consent_id)
    messages.success(request, _("The consent was withdrawn."))
    return redirect("person_detail", person_id=person.pk)


@require_capability(Cap.REGISTRY_VIEW)
@require_GET
def household_page(request: HttpRequest, household_id: int) -> HttpResponse:
    try:
        household = access_household_by_id(request.user, household_id)
    except NotFoundError:
        raise Http404 from None
    return render(
        request,
        "registry/household_detail.html",
        {"household": household, "members": selectors.household_members(household)},
    )


# --- imports ---------------------------------------------------------------------------------------------


@require_capability(Cap.REGISTRY_IMPORT)
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        mapping = form.cleaned_data.get("mapping")
        try:
            mapping_text = mapping.read().decode("utf-8") if mapping else None
            job = registry_import_start(
                actor=request.user, upload=upload, filename=upload.name, source_code=form.cleaned_data["source"],
                mapping_text=mapping_text, mapping_name=mapping.name if mapping else "",
            )  # fmt: skip
            return redirect("job_detail", job_id=job.pk)
        except UnicodeDecodeError:
            form.add_error("mapping", _("The mapping file is not UTF-8 text."))
        except ValidationError as exc:
            form.add_error(None, str(exc))
    page = Paginator(selectors.batches(), 30).get_page(request.GET.get("page"))
    return render(request, "registry/import_list.html", {"form": form, "page": page, "query": ""})


@require_capability(Cap.REGISTRY_IMPORT)
@require_GET
def import_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = or_404(access_batch_by_id, request.user, batch_id)
    problems = Paginator(batch.problems.order_by("row_number", "id"), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/import_detail.html",
        {"batch": batch, "problems": problems, "held": selectors.held_rows(batch)[:50], "query": ""},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_capability(Cap.REGISTRY_IMPORT)
@require_GET
def import_report(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = or_404(access_batch_by_id, request.user, batch_id)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in selectors.problem_report_rows(batch)), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-problems.csv"'
    return response  # type: ignore[return-value]


@require_capability(Cap.REGISTRY_IMPORT)
@require_POST
def import_retry(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = or_404(access_batch_by_id, request.user, batch_id)
    try:
        outcome = registry_retry_held(actor=request.user, batch_id=batch.pk)
        for notice in outcome.notices:
            messages.success(request, notice)
    except ValidationError as exc:
        _fail(request, exc)
    return redirect("import_detail", batch_id=batch.pk)


# --- data subjects' requests -----------------------------------------------------------------------------


@require_capability(Cap.REGISTRY_RIGHTS)
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    page = Paginator(selectors.subject_requests(state=state if state in SubjectRequest.State.values else ""), 50)
    return render(
        request,
        "registry/request_list.html",
        {"page": page.get_page(request.GET.get("page")), "state": state, "query": f"state={state}"},
    )


@require_capability(Cap.REGISTRY_RIGHTS)
@require_POST
def request_open(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="subject request")
    form = SubjectRequestForm(request.POST)
    if form.is_valid():
        try:
            opened = person_services.subject_request_open(actor=request.user, person_id=person.pk, **form.cleaned_data)
            return redirect("subject_request_detail", request_id=opened.pk)
        except ValidationError as exc:
            _fail(request, exc)
    else:
        messages.error(request, _("The form was not filled in correctly."))
    return redirect("person_detail", person_id=person.pk)


@require_capability(Cap.REGISTRY_RIGHTS)
@require_GET
def request_page(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = or_404(access_subject_request_by_id, request.user, request_id)
    export = None
    if subject.kind == SubjectRequest.Kind.ACCESS:
        export = selectors.person_export(or_404(access_person_by_id, request.user, subject.person_id, purpose="export"))
    return render(
        request,
        "registry/request_detail.html",
        {"subject": subject, "export": export, "form": CloseRequestForm()},
    )


@require_capability(Cap.REGISTRY_RIGHTS)
@require_GET
def person_export_json(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="export")
    body = json.dumps(selectors.person_export(person), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}.json"'
    return response


@require_capability(Cap.REGISTRY_RIGHTS)
@require_GET
def person_export_page(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="export")
    return render(request, "registry/person_export.html", {"person": person, "export": selectors.person_export(person)})


@require_capability(Cap.REGISTRY_RIGHTS)
@require_POST
def request_close(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = or_404(access_subject_request_by_id, request.user, request_id)
    form = CloseRequestForm(request.POST)
    action = request.POST.get("action", "")
    if not form.is_valid():
        messages.error(request, _("The form was not filled in correctly."))
        return redirect("subject_request_detail", request_id=subject.pk)
    outcome, exceptions = form.cleaned_data["outcome"], form.cleaned_data["exceptions"]
    try:
        if action == "refuse":
            person_services.subject_request_refuse(actor=request.user, request_id=subject.pk, reason=outcome)
        elif subject.kind == SubjectRequest.Kind.ACCESS:
            person = or_404(access_person_by_id, request.user, subject.person_id, purpose="export")
            person_services.subject_access_fulfil(
                actor=request.user, request_id=subject.pk, export=selectors.person_export(person)
            )
        elif subject.kind == SubjectRequest.Kind.RESTRICT:
            person_services.person_restrict(actor=request.user, request_id=subject.pk)
        elif subject.kind == SubjectRequest.Kind.ERASE:
            person_services.person_erase(actor=request.user, request_id=subject.pk, exceptions=exceptions)
        else:
            person_services.subject_request_complete(actor=request.user, request_id=subject.pk, outcome=outcome)
        messages.success(request, _("The request was closed."))
    except ValidationError as exc:
        _fail(request, exc)
    return redirect("subject_request_detail", request_id=subject.pk)


# --- configuration ---------------------------------------------------------------------------------------


@require_capability(Cap.REGISTRY_CONFIGURE)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    event_form = EventForm(prefix="event")
    source_form = SourceForm(prefix="source")
    region_form = OriginRegionForm(prefix="region", initial={"units": selectors.origin_region_units()})
    if request.method == "POST":
        what = request.POST.get("what")
        try:
            if what == "event":
                event_form = EventForm(request.POST, prefix="event")
                if event_form.is_valid():
                    data = event_form.cleaned_data
                    person_services.event_save(
                        actor=request.user, code=data["code"], label=data["label"], start=_partial(data["start"]),
                        end=_partial(data["end"]), qualifies=data["qualifies"],
                    )  # fmt: skip
                    messages.success(request, _("The event was saved. Recompute eligibility to apply it."))
                    return redirect("registry_settings")
            elif what == "source":
                source_form = SourceForm(request.POST, prefix="source")
                if source_form.is_valid():
                    person_services.source_save(actor=request.user, **source_form.cleaned_data)
                    messages.success(request, _("The source was saved."))
                    return redirect("registry_settings")
            elif what == "region":
                region_form = OriginRegionForm(request.POST, prefix="region")
                if region_form.is_valid():
                    codes = [u.code for u in region_form.cleaned_data["units"]]
                    person_services.origin_region_set(actor=request.user, unit_codes=codes)
                    messages.success(request, _("The origin region was saved. Recompute eligibility to apply it."))
                    return redirect("registry_settings")
            elif what == "eligibility":
                job = registry_eligibility_start(actor=request.user)
                return redirect("job_detail", job_id=job.pk)
        except ValidationError as exc:
            _fail(request, exc)
    return render(
        request,
        "registry/settings.html",
        {
            "events": selectors.events(),
            "sources": selectors.sources(),
            "region": selectors.origin_region_units(),
            "event_form": event_form,
            "source_form": source_form,
            "region_form": region_form,
        },
    )


@require_capability(Cap.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def information_sheets(request: HttpRequest) -> HttpResponse:
    """The published information sheets with how many consents and intentions each was given under; those
    who configure the registry publish new versions here."""
    form = InformationSheetForm()
    may_publish = user_can(request.user, Cap.REGISTRY_CONFIGURE)
    if request.method == "POST":
        if not may_publish:
            raise PermissionDenied
        form = InformationSheetForm(request.POST)
        if form.is_valid():
            try:
                sheet = information_sheet_publish(actor=request.user, **form.cleaned_data)
                messages.success(request, _("The information sheet was published."))
                return redirect("information_sheet", sheet_id=sheet.pk)
            except ValidationError as exc:
                for field, _value, reason in exc.problems:  # shown at the field, the form kept as typed
                    form.add_error(field if field in form.fields else None, reason)
    return render(
        request,
        "registry/sheet_list.html",
        {"versions": selectors.information_sheets(), "form": form, "may_publish": may_publish},
        status=400 if form.errors else 200,
    )


@require_capability(Cap.REGISTRY_VIEW)
@require_GET
def information_sheet(request: HttpRequest, sheet_id: int) -> HttpResponse:
    sheet = selectors.information_sheet(sheet_id)
    if sheet is None:
        raise Http404
    paragraphs = [p.strip() for p in sheet.body.split("\n\n") if p.strip()]
    return render(request, "registry/sheet_detail.html", {"sheet": sheet, "paragraphs": paragraphs})


def _partial(text: str) -> PartialDate | None:
    if not text.strip():
        return None
    try:
        return PartialDate.parse(text)
    except ValueError as exc:
        raise ValidationError(str(exc), [("date", text, str(exc))]) from exc
