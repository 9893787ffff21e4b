"""``homeward link-file`` and ``homeward link-evaluate``: record linkage on files, without a database or keys."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from homeward.core.commandline import parse_args as _parse
from homeward.core.commandline import say as _say
from homeward.core.progress import PercentBar


def _parser_link() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homeward link-file",
        description=(
            "Link a person records file (record_id, source, given_name, surname, patronymic, sex, birth_date, "
            "birth_place, origin_settlement, current_country; other columns ignored): writes record_id, "
            "cluster_id for every record."
        ),
    )
    parser.add_argument("input", type=Path, help="the person records file (CSV, UTF-8, with a header)")
    parser.add_argument("--out", type=Path, required=True, help="where to write record_id,cluster_id")
    parser.add_argument("--pairs", type=Path, help="also write the scored pairs (match_probability >= 0.5)")
    parser.add_argument("--model", type=Path, help="use this trained model (JSON) instead of training one")
    parser.add_argument("--save-model", type=Path, help="write the model used to this JSON file")
    parser.add_argument(
        "--threshold", type=float, default=None, help="match probability at which pairs join a cluster (default 0.5)"
    )
    parser.add_argument(
        "--no-duplicates-in",
        metavar="SOURCES",
        default="",
        help="sources that hold each person at most once (comma-separated, or 'all'): two of their records "
        "never end up in one cluster",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    return parser


def _parser_evaluate() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homeward link-evaluate",
        description="Compare clusters (record_id, cluster_id) with the truth (record_id, person_id).",
    )
    parser.add_argument("clusters", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    return parser


def _sources(text: str) -> list[str] | str | None:
    text = text.strip()
    if not text:
        return None
    if text == "all":
        return "all"
    return [s.strip() for s in text.split(",") if s.strip()]


def _fail(command: str, text: str) -> int:
    sys.stderr.write(f"homeward {command}: {text}\n")
    return 2


def link_file_command(argv: list[str]) -> int:
    args = _parse(_parser_link(), argv)
    if isinstance(args, int):
        return args
    from homeward.linkage.engine import model as m
    from homeward.linkage.engine.prepare import LinkageInputError
    from homeward.linkage.engine.run import LinkageOutputError, link_file

    threshold = m.REVIEW if args.threshold is None else args.threshold
    if not 0 < threshold <= 1:
        return _fail("link-file", "--threshold is a match probability between 0 and 1")
    if args.model is not None and not args.model.is_file():
        return _fail("link-file", f"the model {args.model} does not exist")
    bar = PercentBar("linking")
    step = bar.step

    started = time.perf_counter()
    try:
        result = link_file(
            args.input, args.out, pairs_out=args.pairs, model=args.model, save_model=args.save_model,
            threshold=threshold, step=step, duplicate_free=_sources(args.no_duplicates_in),
        )  # fmt: skip
    except (LinkageInputError, LinkageOutputError) as exc:
        return _fail("link-file", str(exc))
    except OSError as exc:
        return _fail("link-file", f"{exc.filename or ''}: {exc.strerror or exc}")
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    summary = {
        "records": result.records,
        "clusters": result.cluster_count,
        "pairs_written": result.pairs.num_rows if args.pairs else None,
        "threshold": threshold,
        "model": "trained on this file" if result.trained else str(args.model or "shipped with Homeward"),
        "seconds": round(seconds, 1),
        "stage_seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        "not_used": result.unusable.lines(),
        "notices": result.notices,
    }
    if args.json:
        _say(json.dumps(summary, ensure_ascii=False))
        return 0
    _say(f"{result.records:,} records in {result.cluster_count:,} clusters -> {args.out}  ({seconds:.1f} s)")
    _say(f"model: {summary['model']}; records join when the match probability is at least {threshold}")
    if args.pairs:
        _say(f"{result.pairs.num_rows:,} scored pairs -> {args.pairs}")
    for notice in result.notices:
        _say(f"note: {notice}")
    if result.unusable.counts:
        _say("not used (never evidence for a match):")
        for line in result.unusable.lines():
            _say(f"  {line}")
    return 0


def link_evaluate_command(argv: list[str]) -> int:
    args = _parse(_parser_evaluate(), argv)
    if isinstance(args, int):
        return args
    from homeward.linkage.engine.evaluate import (
        EvaluationInputError,
        evaluate,
        format_report,
        read_clusters,
        read_truth,
    )

    try:
        clusters = read_clusters(args.clusters)
        truth = read_truth(args.truth)
    except EvaluationInputError as exc:
        return _fail("link-evaluate", str(exc))
    except OSError as exc:
        return _fail("link-evaluate", f"{exc.filename or ''}: {exc.strerror or exc}")
    result = evaluate(clusters, truth)
    _say(json.dumps(result.as_dict()) if args.json else format_report(result))
    return 0
