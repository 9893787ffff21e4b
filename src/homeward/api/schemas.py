from __future__ import annotations

from typing import Annotated

from ninja import Path, Schema


class ErrorOut(Schema):
    detail: str


class ProblemOut(Schema):
    row: str
    field: str
    reason: str


class ValidationErrorOut(Schema):
    detail: str
    problems: list[ProblemOut]


# 400 comes from the check that refuses NUL characters before any view runs (core.middleware).
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}

MAX_ID = 2**63 - 1
ID = Annotated[int, Path(ge=1, le=MAX_ID)]
SEQ = ID
