"""The census of an empty registry, and requests for tables that do not exist."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from homeward.census import services
from homeward.core.errors import NotFoundError, ValidationError
from tests.conftest import SETUP

pytestmark = pytest.mark.django_db


def test_before_any_run_exports_say_to_run_the_census_first(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="run the census first"):
        services.census_export(actor=SETUP, out_dir=tmp_path, fmt="csv", public=True)
    assert not tmp_path.joinpath("census-public.csv").exists()


def test_an_empty_registry_gives_complete_tables_of_zeros(tmp_path: Path) -> None:
    snapshot = services.census_run(actor=SETUP)
    assert (snapshot.persons, snapshot.households) == (0, 0)
    files = services.census_export(actor=SETUP, out_dir=tmp_path, fmt="csv", public=True)
    rows = list(csv.DictReader(io.StringIO(files[0].read_text())))
    assert rows
    assert {r["OBS_VALUE"] for r in rows} == {"0"}
    assert {r["OBS_STATUS"] for r in rows} == {"A"}


def test_a_table_that_does_not_exist_is_named_in_the_error() -> None:
    snapshot = services.census_run(actor=SETUP)
    with pytest.raises(ValidationError, match="no such census table: members_by_shoe_size"):
        services.internal_tables(snapshot.pk, ["members_by_shoe_size"])
