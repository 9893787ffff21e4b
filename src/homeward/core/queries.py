"""Query helpers shared by the apps."""

from __future__ import annotations

from django.db.models import Q

# The highest code point: "abc" <= x < "abc" + HIGH is a prefix range that every database indexes.
HIGH = "\U0010ffff"


def prefix_q(column: str, value: str) -> Q:
    """Rows whose ``column`` starts with ``value``, as a range an index serves (unlike LIKE on PostgreSQL)."""
    return Q(**{f"{column}__gte": value, f"{column}__lt": value + HIGH})
