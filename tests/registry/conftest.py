"""Shared set-up of the registry tests: a small synthetic gazetteer, the two displacement waves, files."""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import write_lpf
from homeward.gazetteer.services import gazetteer_import
from homeward.registry import models as registry_models
from homeward.registry.services.persons import event_save
from homeward.synth.community import WAVES
from homeward.synth.gazetteer import generate
from tests.conftest import SETUP
from tests.test_cli import run

# 60 fictional settlements in the historical districts hw:unit:d1..d6 (under hw:unit:old).
SMALL_GAZETTEER = generate(settlements=60)
GAZETTEER_RAW = write_lpf(SMALL_GAZETTEER).encode()
# Settlements the hand-written files name: by gazetteer id, and by a name only this settlement has.
ORIGIN_GID = "hw:settlement:00001"  # Göytəpəli, historical district hw:unit:d4
ORIGIN_NAME = "Ortayurd"  # hw:settlement:00003, district hw:unit:d3; Russian "Ортаюрд"
ORIGIN_NAME_GID = "hw:settlement:00003"

REGISTRY_MODELS = (
    registry_models.Source,
    registry_models.ImportBatch,
    registry_models.Person,
    registry_models.SourceRecord,
    registry_models.ImportProblem,
    registry_models.Household,
    registry_models.HouseholdMember,
    registry_models.Kinship,
    registry_models.DisplacementEvent,
    registry_models.OriginRegion,
    registry_models.Displacement,
    registry_models.Consent,
    registry_models.ValueDecision,
    registry_models.SubjectRequest,
)


def table_counts() -> dict[str, int]:
    """Rows of every registry table."""
    return {model.__name__: model.objects.count() for model in REGISTRY_MODELS}


def table_rows(*, exclude: Sequence[type[Any]] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every row of every registry table (but ``exclude``), as stored, in id order."""
    return {
        model.__name__: [
            {k: (str(v) if v is not None and not isinstance(v, int | bool | str) else v) for k, v in row.items()}
            for row in model.objects.order_by("pk").values()
        ]
        for model in REGISTRY_MODELS
        if model not in exclude
    }


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def gazetteer(db: Any) -> None:
    gazetteer_import(actor=SETUP, raw=GAZETTEER_RAW, filename="synthetic.lpf.json")


@pytest.fixture
def waves(db: Any) -> None:
    """The synthetic community's displacement waves, both qualifying."""
    for code, (start, end) in WAVES.items():
        event_save(
            actor=SETUP,
            code=code,
            label=code,
            start=PartialDate(start),
            end=PartialDate(end),
            qualifies=True,
        )


# --- `homeward` processes on a database of their own -----------------------------------------------------

# What the operator would have done before a first import: the gazetteer the synthetic community comes from
# (300 settlements, as synth.community uses by default) and the two waves.
PREPARE = """
from homeward.audit.services import system_actor
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import write_lpf
from homeward.gazetteer.services import gazetteer_import
from homeward.registry.services.persons import event_save
from homeward.synth.community import WAVES
from homeward.synth.gazetteer import generate

actor = system_actor("test-setup")
gazetteer_import(actor=actor, raw=write_lpf(generate(settlements=300)).encode(), filename="synthetic.lpf.json")
for code, (start, end) in WAVES.items():
    event_save(actor=actor, code=code, label=code, start=PartialDate(start), end=PartialDate(end), qualifies=True)
"""


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="session")
def prepared_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with keys, a migrated SQLite database, the gazetteer and the waves: made once, copied by
    ``own_var`` for each test (migrating takes seconds)."""
    var = tmp_path_factory.mktemp("prepared-var")
    ok(run(["keys", "init"], var))
    ok(run(["migrate", "--noinput"], var, timeout=300))
    ok(run(["shell", "-c", PREPARE], var))
    return var


def copy_var(prepared: Path, target: Path) -> Path:
    shutil.copytree(prepared, target)
    return target


@pytest.fixture
def own_var(prepared_var: Path, tmp_path: Path) -> Path:
    return copy_var(prepared_var, tmp_path / "var")
