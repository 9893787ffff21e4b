"""Reads for the portal: the sheet to show, a registrant's own submission, and staff's counts.

A registrant's pages read only what their own submission holds and the intention versions given under it:
never the registry's persons, so nothing tells them whether anybody else's records match theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from homeward.portal.models import Campaign, Submission, SubmissionIntention
from homeward.registry.models import Consent, DisplacementEvent, InformationSheet, ReturnIntention

_KEPT: dict[str, tuple[float, Any]] = {}


def _kept(key: str, load: Callable[[], Any]) -> Any:
    """What ``load`` reads, kept in this process for PORTAL_REFERENCE_SECONDS: the public pages read the same
    few published rows on every request. A save in this process forgets them at once (``forget``)."""
    now = time.monotonic()
    held = _KEPT.get(key)
    if held is not None and now - held[0] < settings.PORTAL_REFERENCE_SECONDS:
        return held[1]
    value = load()
    _KEPT[key] = (now, value)
    return value


def forget(**_kwargs: Any) -> None:
    """Forget what ``_kept`` holds (connected to saves of sheets and events): at once, for this process's next
    read, and again when the saving transaction commits, in case another thread read the old rows meanwhile."""
    _KEPT.clear()
    transaction.on_commit(_KEPT.clear)


def _sheets() -> tuple[str, dict[tuple[str, str], InformationSheet]]:
    """The newest published version, and every published text by (version, language)."""
    texts = list(InformationSheet.objects.order_by("-published_at", "-id"))
    return (texts[0].version if texts else ""), {(t.version, t.language): t for t in reversed(texts)}


def current_sheet(language: str) -> InformationSheet | None:
    """The newest published version's text in this language, else in any language of that version."""
    newest, _texts = _kept("sheets", _sheets)
    return shown_sheet(newest, language)


def shown_sheet(version: str, language: str) -> InformationSheet | None:
    """A published version's text in this language, else in English, else in any language; None if there is
    no such version."""
    if not version:
        return None
    found = _sheet_in(_kept("sheets", _sheets)[1], version, language)
    if found is None:  # a version this process has not seen yet: published since, by another process
        _KEPT.pop("sheets", None)
        found = _sheet_in(_kept("sheets", _sheets)[1], version, language)
    return found


def _sheet_in(texts: dict[tuple[str, str], InformationSheet], version: str, language: str) -> InformationSheet | None:
    """The version's text in the language, else in English, else in any language."""
    found = texts.get((version, language)) or texts.get((version, "en"))
    return found or next((t for (v, _l), t in texts.items() if v == version), None)


def events() -> list[tuple[str, str]]:
    """The displacement events a registrant may choose from: (code, label)."""
    return list(_kept("events", lambda: list(DisplacementEvent.objects.values_list("code", "label"))))


def settlement_choices(hits: list[Any]) -> list[tuple[str, str]]:
    out = []
    for hit in hits:
        label = hit.title if hit.matched == hit.title else f"{hit.title} ({hit.matched})"
        out.append((hit.gid, f"{label}, {hit.unit}" if hit.unit else label))
    return out


def consent_labels() -> list[tuple[str, Any]]:
    return [
        ("registration", _("being recorded in the community registry")),
        ("contact", _("contact about registration and return")),
        ("planning", _("use of the answers to plan the return")),
        ("sharing", _("sharing with the named partner")),
    ]


def event_label(code: str) -> str:
    return dict(events()).get(code, "") if code else ""


def intention_shown(given: dict[str, Any]) -> dict[str, Any]:
    decisions = {"intends": _("intends to return"), "undecided": _("has not decided"),
                 "does_not_intend": _("does not intend to return"), "withdrawn": _("answer withdrawn"),
                 "": _("not answered")}  # fmt: skip
    horizons = dict(ReturnIntention.Horizon.choices)
    together = {"community": _("together with the community of the home settlement"),
                "own": _("to the home settlement, on their own"), "elsewhere": _("to another settlement")}  # fmt: skip
    return {
        "decision": decisions.get(given.get("decision", ""), given.get("decision", "")),
        "horizon": horizons.get(given.get("horizon", ""), ""),
        "together": together.get(given.get("together", ""), ""),
        "destination": given.get("destination", ""),
        "conditions": [str(ReturnIntention.CONDITIONS.get(c, c)) for c in given.get("conditions") or []],
        "conditions_note": given.get("conditions_note", ""),
        "needs": [str(ReturnIntention.NEEDS.get(n, n)) for n in given.get("needs") or []],
    }


def own_submission(pk: int) -> Submission | None:
    return Submission.objects.filter(pk=pk).first()


def own_history(submission: Submission, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Per adult member: the intention versions given under this submission, newest first."""
    from django.utils import timezone

    from homeward.portal.services import _adult, members_of

    members = members_of(payload)
    versions: dict[int, list[dict[str, Any]]] = {}
    for link in (
        SubmissionIntention.objects.filter(submission=submission)
        .select_related("intention")
        .order_by("member", "-intention__recorded_at", "-id")
    ):
        i = link.intention
        given = {"decision": i.decision, "horizon": i.horizon, "together": i.together,
                 "destination": i.destination.title if i.destination is not None else "", "conditions": i.conditions,
                 "conditions_note": i.conditions_note, "needs": i.needs}  # fmt: skip
        versions.setdefault(link.member, []).append({"at": i.recorded_at, "raw": i.decision, **intention_shown(given)})
        if link.withdrawn_at is not None:  # withdrawn here only (a relative's own answer had come after it)
            versions[link.member].append({"at": link.withdrawn_at, "raw": "withdrawn",
                                          **intention_shown({"decision": "withdrawn"})})  # fmt: skip
    if submission.state == Submission.State.RECEIVED:  # not recorded yet: the answers as sent
        for key, given in (payload.get("intentions") or {}).items():
            if given.get("decision"):
                shown = {"at": submission.received_at, "raw": given["decision"], **intention_shown(given)}
                versions.setdefault(int(key), []).append(shown)
    for history in versions.values():
        history.sort(key=lambda v: v["at"], reverse=True)
    today = timezone.localdate()
    out = []
    for number, member in enumerate(members):
        if not _adult(member, today):
            continue
        name = " ".join(p for p in (member.get("given_name"), member.get("patronymic"), member.get("surname")) if p)
        history = versions.get(number, [])
        out.append({"member": number, "name": name, "versions": history,
                    "recorded": submission.state == Submission.State.RECORDED,
                    "live": bool(history) and history[0]["raw"] != "withdrawn"})  # fmt: skip
    return out


def own_consents(submission: Submission) -> list[dict[str, Any]]:
    from homeward.portal.services import payload_of

    labels = dict(consent_labels())
    given = payload_of(submission).get("consents") or []
    return [{"purpose": p, "label": labels.get(p, p), "withdrawn": p in submission.consents_withdrawn} for p in given]


def campaign_counts() -> list[dict[str, Any]]:
    rows = Campaign.objects.annotate(
        submissions_n=Count("submissions"),
        recorded_n=Count("submissions", filter=Q(submissions__state=Submission.State.RECORDED)),
    ).order_by("-created_at")
    return [{"campaign": c, "submissions": c.submissions_n, "recorded": c.recorded_n} for c in rows]


def submission_counts() -> dict[str, int]:
    found = dict(Submission.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {
        "received": found.get(Submission.State.RECEIVED, 0),
        "recorded": found.get(Submission.State.RECORDED, 0),
        "without_campaign": Submission.objects.filter(campaign__isnull=True).count(),
    }


def recent_submissions(limit: int = 50) -> list[Submission]:
    """The newest submissions' reference, state and counts: never their answers (those are on the persons)."""
    return list(
        Submission.objects.select_related("campaign", "batch").defer("payload").order_by("-received_at")[:limit]
    )


def intentions_by_sheet() -> list[dict[str, Any]]:
    rows = (
        ReturnIntention.objects.filter(channel=ReturnIntention.Channel.PORTAL)
        .values("sheet_version")
        .annotate(n=Count("id"))
        .order_by("sheet_version")
    )
    consents = dict(
        Consent.objects.filter(channel=Consent.Channel.PORTAL)
        .values("sheet_version")
        .annotate(n=Count("id"))
        .values_list("sheet_version", "n")
    )
    return [{"version": r["sheet_version"], "intentions": r["n"], "consents": consents.get(r["sheet_version"], 0)}
            for r in rows]  # fmt: skip
