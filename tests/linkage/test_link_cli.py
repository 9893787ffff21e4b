"""``homeward link-file`` and ``homeward link-evaluate``: on files, without a database or keys; bad files get
exit status 2 and one line on stderr naming the line and field, and no output is half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from homeward.cli import main
from homeward.linkage.engine.evaluate import evaluate, read_truth
from tests.linkage.conftest import Community, cross_script_rows, partition, read_clusters, write_records

# No database: run once, not again in the PostgreSQL pass.
pytestmark = pytest.mark.database_free

ENV_KEYS = ("DATABASE_URL", "HOMEWARD_KEYS", "HOMEWARD_KEY_FILE", "DJANGO_SETTINGS_MODULE", "HOMEWARD_ENV")


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("homeward ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    return write_records(tmp_path / "in.csv", cross_script_rows()[0])


def test_link_then_evaluate(community_3k: Community, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, pairs = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    code, stdout, _ = _run(capsys, "link-file", community_3k.records, "--out", out, "--pairs", pairs)
    assert code == 0
    clusters = read_clusters(out)
    assert len(clusters) == 3_000
    first = stdout.splitlines()[0]
    assert first.startswith(f"3,000 records in {len(set(clusters.values())):,} clusters -> {out}")
    assert "model: trained on this file" in stdout
    assert f"scored pairs -> {pairs}" in stdout
    code, stdout, _ = _run(capsys, "link-evaluate", out, community_3k.truth)
    assert code == 0
    expected = evaluate(clusters, read_truth(community_3k.truth))
    figures = {
        line.strip().rsplit(None, 1)[0]: line.split()[-1] for line in stdout.splitlines() if line.startswith("  ")
    }
    assert figures["precision"] == f"{expected.pair_precision:.4f}"
    assert figures["recall"] == f"{expected.pair_recall:.4f}"
    assert figures["F1"] == f"{expected.pair_f1:.4f}"
    assert float(figures["F1"]) >= 0.88  # measured 0.947 and 0.953 on this community
    code, stdout, _ = _run(capsys, "link-evaluate", out, community_3k.truth, "--json")
    assert code == 0
    assert json.loads(stdout) == expected.as_dict()


def test_json_summary_is_one_line(small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = _run(
        capsys, "link-file", small_file, "--out", tmp_path / "out.csv", "--json", "--threshold", "0.97"
    )
    assert code == 0
    [line] = stdout.splitlines()
    summary = json.loads(line)
    clusters = read_clusters(tmp_path / "out.csv")
    assert summary["records"] == len(clusters) == 28
    assert summary["clusters"] == len(set(clusters.values()))
    assert summary["model"] == "shipped with Homeward"
    assert summary["pairs_written"] is None
    assert summary["threshold"] == 0.97
    assert any("too few to train" in notice for notice in summary["notices"])


def test_what_could_not_be_used_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"record_id": "g1", "given_name": "გიორგი", "surname": "ბერიძე", "sex": "M", "birth_date": "1960-05-05"},
        {"record_id": "g2", "given_name": "Əli", "surname": "—", "sex": "X", "birth_date": "0000-00-00"},
    ]
    source = write_records(tmp_path / "in.csv", rows)
    code, stdout, _ = _run(capsys, "link-file", source, "--out", tmp_path / "out.csv", "--json")
    assert code == 0
    not_used = json.loads(stdout)["not_used"]
    assert any(line.startswith("given_name: 1 ") and "script" in line and "g1" in line for line in not_used)
    assert any(line.startswith("surname: ") and "without letters" in line and "g2" in line for line in not_used)
    assert any(line.startswith("birth_date: 1 not a date") for line in not_used)
    assert any(line.startswith("sex: 1 neither F nor M") for line in not_used)
    code, stdout, _ = _run(capsys, "link-file", source, "--out", tmp_path / "out.csv")
    assert code == 0
    assert "not used (never evidence for a match):" in stdout
    assert "  birth_date: 1 not a date that exists" in stdout


def test_save_model_then_reuse_it(community_3k: Community, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.json"
    code, _, _ = _run(capsys, "link-file", community_3k.records, "--out", tmp_path / "a.csv", "--save-model", model)
    assert code == 0
    assert json.loads(model.read_text(encoding="utf-8"))["comparisons"]
    code, stdout, _ = _run(capsys, "link-file", community_3k.records, "--out", tmp_path / "b.csv", "--model", model)
    assert code == 0
    assert f"model: {model};" in stdout
    assert partition(read_clusters(tmp_path / "b.csv")) == partition(read_clusters(tmp_path / "a.csv"))


def test_a_higher_threshold_joins_fewer_records(
    community_3k: Community, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    _run(capsys, "link-file", community_3k.records, "--out", tmp_path / "a.csv", "--save-model", model)
    code, _, _ = _run(
        capsys, "link-file", community_3k.records, "--out", tmp_path / "b.csv", "--model", model, "--threshold", "0.999"
    )
    assert code == 0
    loose, strict = read_clusters(tmp_path / "a.csv"), read_clusters(tmp_path / "b.csv")
    assert len(set(strict.values())) > len(set(loose.values()))


BAD_FILES: dict[str, tuple[bytes, str]] = {
    # name: (content, what stderr must say after "homeward link-file: <path>: ")
    "no record_id": (b"id,given_name\nr1,Ali\n", "line 1: field record_id: the header has no record_id column"),
    "same record_id twice": (
        b"record_id,given_name\nr1,Ali\nr2,Vusal\n\nr1,Aysel\n",
        "line 5: field record_id: 'r1' is also on line 2",
    ),
    "empty record_id": (b"record_id,given_name\nr1,Ali\n,Vusal\n", "line 3: field record_id: empty"),
    "not UTF-8": (b"record_id,given_name\nr1,Ali\nr2,Jos\xe9\n", "line 3: field given_name: not UTF-8 text"),
    "empty file": (b"", "line 1: the file is empty"),
    "a row too long": (b"record_id,given_name\nr1,Ali,x\n", "line 2: 3 cells but the header has 2 columns"),
    "a quote left open": (b'record_id,given_name\nr1,"Ali\nr2,Vusal\n', "line 2: a quote is left open"),
    "an XLSX workbook": (b"PK\x03\x04\x14\x00\x06\x00", "line 1: this is a zip archive"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_exit_2_naming_the_line_and_write_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, words = BAD_FILES[case]
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    out, pairs = tmp_path / "out.csv", tmp_path / "pairs.csv"
    out.write_text("earlier output\n", encoding="utf-8")
    model = tmp_path / "model.json"
    code, stdout, stderr = _run(capsys, "link-file", source, "--out", out, "--pairs", pairs, "--save-model", model)
    assert code == 2
    assert stdout == ""
    assert _one_line(stderr).startswith(f"homeward link-file: {source}: {words}")
    assert out.read_text(encoding="utf-8") == "earlier output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_header_only_gives_an_empty_output_with_its_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_records(tmp_path / "in.csv", [])
    code, stdout, _ = _run(capsys, "link-file", source, "--out", tmp_path / "out.csv", "--pairs", tmp_path / "p.csv")
    assert code == 0
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "record_id,cluster_id\n"
    assert (tmp_path / "p.csv").read_text(
        encoding="utf-8"
    ) == "record_id_l,record_id_r,match_probability,match_weight\n"
    assert stdout.startswith("0 records in 0 clusters")
    assert "note: the file has no records" in stdout


def test_extra_columns_ignored_and_optional_columns_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, truth = cross_script_rows()
    for n, row in enumerate(rows):
        row["shoe_size"] = str(n)
    source = write_records(tmp_path / "in.csv", rows, fields=("shoe_size", "surname", "record_id", "given_name"))
    code, stdout, _ = _run(capsys, "link-file", source, "--out", tmp_path / "out.csv", "--json")
    assert code == 0
    assert json.loads(stdout)["records"] == len(rows)
    assert read_clusters(tmp_path / "out.csv").keys() == truth.keys()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--threshold", "0"], "--threshold is a match probability between 0 and 1"),
        (["--threshold", "1.5"], "--threshold is a match probability between 0 and 1"),
        (["--model", "nowhere.json"], "the model nowhere.json does not exist"),
        (["--pairs", "missing/p.csv"], "missing/p.csv: cannot be written: the folder"),
        (["--save-model", "in.csv"], "in.csv: cannot be written: it is the input file"),
    ],
)
def test_bad_options_exit_2_before_any_work(
    extra: list[str],
    words: str,
    small_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = small_file.read_bytes()
    code, _, stderr = _run(capsys, "link-file", small_file, "--out", "out.csv", *extra)
    assert code == 2
    assert words in _one_line(stderr)
    assert small_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_file_that_is_not_a_model(small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.json"
    model.write_text('{"comparisons": "none"}', encoding="utf-8")
    code, _, stderr = _run(capsys, "link-file", small_file, "--out", tmp_path / "out.csv", "--model", model)
    assert code == 2
    assert _one_line(stderr) == (
        f"homeward link-file: {model}: not a linkage model (a JSON object with comparisons, as --save-model writes it)"
    )
    assert not (tmp_path / "out.csv").exists()


def test_usage_errors_return_2_and_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = _run(capsys, "link-file", "in.csv")
    assert code == 2
    assert "--out" in stderr
    code, stdout, _ = _run(capsys, "link-file", "--help")
    assert code == 0
    assert "--save-model" in stdout
    code, _, stderr = _run(capsys, "link-evaluate", "only-one.csv")
    assert code == 2


def test_link_evaluate_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clusters = tmp_path / "clusters.csv"
    clusters.write_text("record_id,cluster_id\nr1,k\nr1,j\n", encoding="utf-8")
    truth = tmp_path / "truth.csv"
    truth.write_text("record_id,person_id\nr1,P\n", encoding="utf-8")
    code, stdout, stderr = _run(capsys, "link-evaluate", clusters, truth)
    assert code == 2
    assert stdout == ""
    assert _one_line(stderr) == (
        f"homeward link-evaluate: {clusters}, line 3, field record_id: record_id 'r1' appears twice (first on line 2)"
    )


def test_a_real_process_without_keys_or_database(community_3k: Community, tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ["HOMEWARD_VAR_DIR"] = str(var)

    def homeward(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "homeward.cli", *map(str, args)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    out = tmp_path / "clusters.csv"
    linked = homeward("link-file", community_3k.records, "--out", out, "--json")
    assert linked.returncode == 0, linked.stderr
    assert "Traceback" not in linked.stderr
    [line] = linked.stdout.splitlines()
    summary = json.loads(line)
    clusters = read_clusters(out)
    assert summary["records"] == len(clusters) == 3_000
    assert summary["clusters"] == len(set(clusters.values()))
    assert summary["model"] == "trained on this file"
    evaluated = homeward("link-evaluate", out, community_3k.truth)
    assert evaluated.returncode == 0, evaluated.stderr
    for label in ("precision", "recall", "F1"):
        assert any(row.strip().startswith(label) for row in evaluated.stdout.splitlines())
    bad = homeward("link-file", tmp_path / "missing.csv", "--out", tmp_path / "x.csv")
    assert bad.returncode == 2
    assert (
        _one_line(bad.stderr)
        == f"homeward link-file: {tmp_path / 'missing.csv'}: cannot be read (No such file or directory)"
    )
    assert list(var.iterdir()) == []  # no key file, no database: nothing was needed
