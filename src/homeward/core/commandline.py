"""Helpers shared by the commands that run on files without Django (link-file, link-evaluate, plan)."""

from __future__ import annotations

import argparse
import sys


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """The arguments, or the exit status when argparse has already answered (--help, a usage error)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
