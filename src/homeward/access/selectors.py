from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from homeward.access.models import ApiToken


def staff_list() -> QuerySet[Any]:
    return get_user_model().objects.prefetch_related("groups").order_by("username")


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")
