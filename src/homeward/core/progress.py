"""Progress reporting shared by background jobs (stored on the Job) and the CLI (a progress bar)."""

from __future__ import annotations

import sys
from typing import Any, Protocol

from tqdm import tqdm


class Progress(Protocol):
    def start(self, total: int | None, message: str = "") -> None: ...

    def advance(self, n: int = 1, message: str | None = None) -> None: ...


class NullProgress:
    def start(self, total: int | None, message: str = "") -> None:
        pass

    def advance(self, n: int = 1, message: str | None = None) -> None:
        pass


class BarProgress:
    """A progress bar on standard error for long CLI commands."""

    def __init__(self, *, unit: str = "rows", disable: bool | None = None) -> None:
        self.unit = unit
        self.disable = (not sys.stderr.isatty()) if disable is None else disable
        self.bar: Any = None

    def start(self, total: int | None, message: str = "") -> None:
        self.bar = tqdm(total=total, desc=message or None, unit=self.unit, file=sys.stderr, disable=self.disable)

    def advance(self, n: int = 1, message: str | None = None) -> None:
        if self.bar is None:
            self.start(None)
        assert self.bar is not None
        if message:
            self.bar.set_description_str(message, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class PercentBar(BarProgress):
    """A bar from 0 to 100 % for work that reports the share done, as ``step(message, done)``."""

    def __init__(self, message: str, *, disable: bool | None = None) -> None:
        super().__init__(unit="%", disable=disable)
        self.shown = 0
        self.start(100, message)

    def step(self, message: str, done: float) -> None:
        percent = int(done * 100)
        self.advance(max(0, percent - self.shown), message)
        self.shown = max(self.shown, percent)
