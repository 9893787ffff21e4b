"""Checking and normalising one person record (a row already mapped to canonical fields). Pure Python.

This runs once per imported row, so it is written for speed: look-ups are cached and a valid row costs
a few microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from homeward.core.names import fold, skeleton
from homeward.core.partialdate import PartialDate
from homeward.registry.readers import formula_like

TEXT_FIELDS = (
    "given_name",
    "surname",
    "previous_surname",
    "patronymic",
    "birth_place",
    "origin_settlement",
    "current_city",
)
REF_FIELDS = ("household_id", "father_record_id", "mother_record_id", "spouse_record_id")
DATE_FIELDS = ("birth_date", "death_date", "displacement_date")
RELATIONS = frozenset({"head", "spouse", "child", "parent", "grandchild", "other"})
SEX_CODES = {
    "f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M", "x": "X", "other": "X",
}  # fmt: skip
# The fields whose values make a record's content: a change in any of them is a new version of the record.
CONTENT_FIELDS = (
    "given_name", "surname", "previous_surname", "patronymic", "sex", "birth_date", "birth_place",
    "origin_settlement", "current_country", "current_city", "household_id", "relation_to_head",
    "father_record_id", "mother_record_id", "spouse_record_id", "death_date", "displacement_date",
    "displacement_event", "phone", "email", "document_number",
)  # fmt: skip
MAX_TEXT = 200
MAX_REF = 120


def gettext_noop(message: str) -> str:
    """Marks a problem's reason for the translation catalogue (stored in English, translated when shown)."""
    return message


_COUNTRY = re.compile(r"[A-Z]{2}\Z")
# A cell starting like a formula somewhere in the row (cells joined by \x1f): the cheap first test.
_FORMULA_CELL = re.compile("(?:^|\x1f)[=+@\t\r-]")
NOT_A_COUNTRY = gettext_noop("not a two-letter country code (ISO 3166-1)")
UNKNOWN_RELATION = gettext_noop("unknown relation to the household head")
_SEXES = frozenset({"", "F", "M", "X"})
_RELATION_OK = RELATIONS | {""}


@lru_cache(maxsize=65536)
def _date(text: str, today: dt.date) -> PartialDate | str:
    try:
        parsed = PartialDate.parse(text)
    except ValueError as exc:
        return str(exc)
    return gettext_noop("in the future") if parsed.earliest() > today else parsed


@lru_cache(maxsize=262144)
def name_keys(given: str, surname: str) -> tuple[str, str, str]:
    """(folded given name, folded surname, surname skeleton): the person search keys."""
    return _fold(given), _fold(surname), _skeleton(surname)


@lru_cache(maxsize=262144)
def _fold(text: str) -> str:
    return fold(text)[:MAX_TEXT] if text else ""


@lru_cache(maxsize=262144)
def _skeleton(text: str) -> str:
    return skeleton(text)[:MAX_TEXT] if text else ""


ALL_FIELDS = (
    "record_id", "source", *CONTENT_FIELDS,
)  # fmt: skip
EMPTY_ROW = dict.fromkeys(ALL_FIELDS, "")
_CONTENT = itemgetter(*CONTENT_FIELDS)


class Checked(NamedTuple):
    """A record that passed: normalised values (every field present, '' when empty) ready to store."""

    external_id: str
    content_hash: str
    values: dict[str, str]
    settlement_id: int | None
    birth_text: str | None
    death_text: str | None
    displacement_text: str | None


Problem = tuple[str, str, str]  # (field, value, reason)
SettlementResolver = Callable[[str], "int | str"]  # an id, or the reason it could not be resolved


def content_hash(values: dict[str, str]) -> str:
    """A digest of the record's content (not of the file's layout): the same record in another file matches."""
    return _blake(("\x1f".join(_CONTENT(values))).encode("utf-8"), digest_size=16).hexdigest()


_blake = hashlib.blake2b


def check_record(
    values: dict[str, str],
    problems: list[Problem],
    *,
    resolve_settlement: SettlementResolver,
    events: Mapping[str, object],
    today: dt.date,
) -> Checked | None:
    """Validate and normalise a canonical row; return the record, or None when ``problems`` holds it.

    ``problems`` may already hold the mapper's problems for the row; any problem holds the row.
    """
    full = EMPTY_ROW.copy()
    full.update(values)
    values = full
    record_id = values["record_id"]
    if not record_id:
        problems.append(("record_id", "", gettext_noop("the record has no id")))
    cells = list(values.values())
    if _FORMULA_CELL.search("\x1f".join(cells)):
        for name, value in values.items():
            if formula_like(value):
                problems.append((name, value[:MAX_TEXT], gettext_noop("looks like a spreadsheet formula, not data")))
    if max(map(len, cells)) > MAX_REF:
        for name in (*TEXT_FIELDS, "record_id", *REF_FIELDS):
            value, limit = values[name], MAX_TEXT if name in TEXT_FIELDS else MAX_REF
            if len(value) > limit:
                problems.append((name, value[:limit], f"longer than {limit} characters"))
    sex = values["sex"]
    if sex not in _SEXES:
        normal = SEX_CODES.get(sex.lower())
        if normal is None:
            problems.append(("sex", sex[:MAX_TEXT], gettext_noop("unknown sex code (use F, M or X, or map the codes)")))
        else:
            values["sex"] = normal
    country = values["current_country"]
    if country and not _COUNTRY.match(country):
        upper = country.upper()
        if _COUNTRY.match(upper):
            values["current_country"] = upper
        else:
            problems.append(
                ("current_country", country[:MAX_TEXT], gettext_noop("not a two-letter country code (ISO 3166-1)"))
            )
    relation = values["relation_to_head"]
    if relation not in _RELATION_OK:
        lowered = relation.lower()
        if lowered in RELATIONS:
            values["relation_to_head"] = lowered
        else:
            problems.append(
                ("relation_to_head", relation[:MAX_TEXT], gettext_noop("unknown relation to the household head"))
            )
    event = values["displacement_event"]
    if event and event not in events:
        problems.append(("displacement_event", event[:MAX_TEXT], gettext_noop("unknown displacement event")))
    dates: dict[str, PartialDate | None] = {}
    flagged = {problem[0] for problem in problems} if problems else ()
    for name in DATE_FIELDS:
        text = values[name]
        if not text or name in flagged:
            dates[name] = None
            continue
        parsed = _date(text, today)
        if isinstance(parsed, str):
            problems.append((name, text[:MAX_TEXT], parsed))
            dates[name] = None
        else:
            dates[name] = parsed
    born, died = dates["birth_date"], dates["death_date"]
    if born and died and died.latest() < born.earliest():
        problems.append(("death_date", str(died), gettext_noop("before the birth date")))
    settlement_id: int | None = None
    origin = values["origin_settlement"]
    if origin:
        resolved = resolve_settlement(origin)
        if isinstance(resolved, str):
            problems.append(("origin_settlement", origin[:MAX_TEXT], resolved))
        else:
            settlement_id = resolved
    if record_id in (values["father_record_id"], values["mother_record_id"], values["spouse_record_id"]):
        for name in ("father_record_id", "mother_record_id", "spouse_record_id"):
            if values[name] == record_id:
                problems.append((name, record_id, gettext_noop("a record cannot be its own relative")))
    if problems:
        return None
    return Checked(
        external_id=record_id,
        content_hash=content_hash(values),
        values=values,
        settlement_id=settlement_id,
        birth_text=values["birth_date"] if born else None,
        death_text=values["death_date"] if died else None,
        displacement_text=values["displacement_date"] if dates["displacement_date"] else None,
    )
