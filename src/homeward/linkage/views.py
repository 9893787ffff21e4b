"""Record linkage pages: the review queue, a pair side by side with the evidence, a person's merges and splits."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from homeward.access.gates import or_404, require_capability, user_can
from homeward.access.roles import Cap
from homeward.core.errors import NotFoundError, ValidationError
from homeward.linkage import selectors, services
from homeward.linkage.gates import access_candidate_by_id
from homeward.linkage.models import MatchCandidate
from homeward.registry.gates import access_person_by_id

DECISIONS = ("same", "different", "defer")
# The evidence as the model labels it (engine/model.py), in the reader's language.
FIELD_LABELS = {
    "given": gettext_lazy("Given name"), "surname": gettext_lazy("Surname (root)"),
    "patronymic": gettext_lazy("Father's name"), "birth": gettext_lazy("Birth date"), "sex": gettext_lazy("Sex"),
    "origin": gettext_lazy("Origin settlement"), "birth_place": gettext_lazy("Birth place"),
    "country": gettext_lazy("Country of residence"), "city": gettext_lazy("City of residence"),
    "document": gettext_lazy("Document number"),
}  # fmt: skip
LEVEL_LABELS = {
    "the same": gettext_lazy("the same"),
    "nearly the same spelling": gettext_lazy("nearly the same spelling"),
    "the same sound (phonetic key)": gettext_lazy("the same sound (phonetic key)"),
    "similar spelling": gettext_lazy("similar spelling"),
    "given name and surname swapped, same birth year": gettext_lazy("given name and surname swapped, same birth year"),
    "different": gettext_lazy("different"),
    "no value on one side": gettext_lazy("no value on one side"),
    "same date": gettext_lazy("same date"),
    "day and month swapped": gettext_lazy("day and month swapped"),
    "the year one off, same day": gettext_lazy("the year one off, same day"),
    "same year, a date partial": gettext_lazy("same year, a date partial"),
    "one year apart, a date partial": gettext_lazy("one year apart, a date partial"),
    "same year, different days": gettext_lazy("same year, different days"),
    "up to three years": gettext_lazy("up to three years apart"),
    "years further apart": gettext_lazy("years further apart"),
}


def _shown(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**e, "field": FIELD_LABELS.get(e.get("field", ""), e.get("field", "")),
         "level": LEVEL_LABELS.get(e.get("level", ""), e.get("level", ""))}
        for e in evidence
    ]  # fmt: skip


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d, d) for d in DECISIONS])
    reason = forms.CharField(max_length=500, required=False, label=gettext_lazy("Note (optional)"))


class SplitForm(forms.Form):
    records = forms.MultipleChoiceField(
        label=gettext_lazy("Records that belong to another person"), widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(max_length=500, label=gettext_lazy("Why are they another person?"))


@require_capability(Cap.LINKAGE_REVIEW)
@require_GET
def queue_page(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    if state not in selectors.QUEUE_STATES:
        state = "open"
    everyone = _sees_restricted(request)
    page = Paginator(
        selectors.queue(state=state, include_restricted=everyone).select_related("record_a", "record_b"), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "linkage/queue.html",
        {
            "page": page, "state": state, "counts": selectors.queue_counts(include_restricted=everyone),
            "run": selectors.latest_run(), "runs": selectors.runs()[:5], "query": f"state={state}",
        },
    )  # fmt: skip


@require_capability(Cap.LINKAGE_REVIEW)
@require_GET
def next_page(request: HttpRequest) -> HttpResponse:
    everyone = _sees_restricted(request)
    # "Next pair" on a pair's page skips that pair: the one after it in the queue.
    after = request.GET.get("after", "")
    if after.isdigit() and len(after) < 19:
        found = selectors.candidate_following(int(after), include_restricted=everyone)
    else:
        found = selectors.next_candidate(include_restricted=everyone)
    if found is None:
        messages.success(request, _("No pair is waiting for review."))
        return redirect("linkage_queue")
    return redirect("linkage_candidate", candidate_id=found.pk)


@require_capability(Cap.LINKAGE_RUN)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    try:
        job = services.linkage_start(actor=request.user, retrain=request.POST.get("retrain") == "1")
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect("linkage_queue")
    return redirect("job_detail", job_id=job.pk)


def _sees_restricted(request: HttpRequest) -> bool:
    return user_can(request.user, Cap.REGISTRY_RIGHTS)


@require_capability(Cap.LINKAGE_REVIEW)
@require_GET
def candidate_page(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = or_404(access_candidate_by_id, request.user, candidate_id)
    sides = selectors.candidate_sides(candidate)
    return render(
        request,
        "linkage/candidate.html",
        {
            "candidate": candidate, "sides": sides, "evidence": _shown(candidate.evidence),
            "decision": selectors.candidate_decision(candidate), "form": DecideForm(),
            "open": candidate.state in (MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED),
            "percent": round(candidate.probability * 100, 1),
        },
    )  # fmt: skip


@require_capability(Cap.LINKAGE_REVIEW)
@require_POST
def candidate_decide_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = or_404(access_candidate_by_id, request.user, candidate_id)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose: same person, different persons, or later."))
        return redirect("linkage_candidate", candidate_id=candidate.pk)
    decision = form.cleaned_data["decision"]
    try:
        services.candidate_decide(
            actor=request.user, candidate_id=candidate.pk, decision=decision, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect("linkage_candidate", candidate_id=candidate.pk)
    messages.success(
        request,
        {
            "same": _("Recorded: the same person. The two persons are merged."),
            "different": _("Recorded: different persons. They will not be merged."),
            "defer": _("Deferred: the pair comes back after the others."),
        }[decision],
    )
    following = selectors.next_candidate(after=candidate, include_restricted=_sees_restricted(request))
    if following is None:
        return redirect("linkage_queue")
    return redirect("linkage_candidate", candidate_id=following.pk)


@require_capability(Cap.LINKAGE_REVIEW)
@require_POST
def candidate_revoke(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = or_404(access_candidate_by_id, request.user, candidate_id)
    try:
        services.decision_revoke(actor=request.user, candidate_id=candidate.pk)
        messages.success(request, _("The decision was taken back; the pair waits for review again."))
    except ValidationError as exc:
        messages.error(request, str(exc))
    return redirect("linkage_candidate", candidate_id=candidate.pk)


@require_capability(Cap.LINKAGE_REVIEW)
@require_GET
def person_identity(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="identity")
    records = list(person.records.select_related("source").order_by("id"))
    form = SplitForm()
    cast(forms.ChoiceField, form.fields["records"]).choices = [(r.pk, str(r.pk)) for r in records]
    return render(
        request,
        "linkage/person.html",
        {"person": person, "records": records, "changes": selectors.person_changes(person)[:50], "form": form},
    )


@require_capability(Cap.LINKAGE_REVIEW)
@require_POST
def person_split_view(request: HttpRequest, person_id: int) -> HttpResponse:
    person = or_404(access_person_by_id, request.user, person_id, purpose="identity")
    form = SplitForm(request.POST)
    cast(forms.ChoiceField, form.fields["records"]).choices = [
        (str(r), str(r)) for r in person.records.values_list("id", flat=True)
    ]
    if not form.is_valid():
        messages.error(request, _("Choose the records that belong to another person, and say why."))
        return redirect("linkage_person", person_id=person.pk)
    try:
        new = services.person_split(
            actor=request.user, person_id=person.pk, record_ids=[int(r) for r in form.cleaned_data["records"]],
            reason=form.cleaned_data["reason"],
        )  # fmt: skip
    except (ValidationError, NotFoundError) as exc:
        messages.error(request, str(exc))
        return redirect("linkage_person", person_id=person.pk)
    messages.success(request, _("The records are now person %(id)s.") % {"id": new.pk})
    return redirect("linkage_person", person_id=new.pk)


@require_capability(Cap.LINKAGE_REVIEW)
@require_http_methods(["POST"])
def change_undo_view(request: HttpRequest, change_id: int) -> HttpResponse:
    try:
        change = services.change_undo(actor=request.user, change_id=change_id, reason=request.POST.get("reason", ""))
    except NotFoundError:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, str(exc))
        return redirect("linkage_queue")
    messages.success(request, _("The merge was undone: person %(id)s is separate again.") % {"id": change.other_id})
    return redirect("linkage_person", person_id=change.other_id)
