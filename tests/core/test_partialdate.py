from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeward.core.partialdate import PartialDate


@pytest.mark.parametrize(
    ("text", "precision", "earliest", "latest"),
    [
        ("1988", "year", dt.date(1988, 1, 1), dt.date(1988, 12, 31)),
        ("1988-02", "month", dt.date(1988, 2, 1), dt.date(1988, 2, 29)),
        ("1988-11-23", "day", dt.date(1988, 11, 23), dt.date(1988, 11, 23)),
    ],
)
def test_parse_keeps_precision(text: str, precision: str, earliest: dt.date, latest: dt.date) -> None:
    value = PartialDate.parse(text)
    assert str(value) == text
    assert value.precision == precision
    assert (value.earliest(), value.latest()) == (earliest, latest)


@pytest.mark.parametrize("text", ["88", "1988-13", "1988-02-30", "1988-2-3", "1988/02", "", "01.02.1988"])
def test_invalid_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        PartialDate.parse(text)


@given(st.dates(min_value=dt.date(1, 1, 1)))
def test_round_trip(day: dt.date) -> None:
    for value in (PartialDate(day.year), PartialDate(day.year, day.month), PartialDate(day.year, day.month, day.day)):
        assert PartialDate.parse(str(value)) == value


def test_ordering_puts_year_before_its_days() -> None:
    assert PartialDate(1988) < PartialDate(1988, 1, 1) < PartialDate(1988, 2)


@given(st.lists(st.dates(min_value=dt.date(1000, 1, 1)), min_size=2, max_size=6), st.data())
def test_order_matches_stored_text_order(days: list[dt.date], data: st.DataObject) -> None:
    values = [PartialDate(d.year, *(data.draw(st.sampled_from([(), (d.month,), (d.month, d.day)])))) for d in days]
    assert [str(v) for v in sorted(values)] == sorted(str(v) for v in values)
