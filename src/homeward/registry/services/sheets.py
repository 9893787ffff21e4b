"""Information sheets: published once per version and language, never edited.

Consents and return intentions name the sheet version they were given under; a version must be published
before anyone can be recorded as having read it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record
from homeward.core.errors import ValidationError
from homeward.registry.models import InformationSheet

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_BODY = 20_000


def field_problem(field: str, value: Any, reason: str) -> ValidationError:
    """A validation error naming the field, the value (shortened) and the reason."""
    return ValidationError(f"{field}: {reason}", [(field, str(value)[:80], reason)])


def information_sheet_publish(*, actor: Any, version: str, language: str, title: str, body: str) -> InformationSheet:
    """Publish the sheet's text in one language under a version. A published text is never replaced."""
    version, title = str(version or "").strip(), str(title or "").strip()
    body = str(body or "").replace("\r\n", "\n").strip()
    if not VERSION.match(version):
        raise field_problem("version", version, "letters, digits, '.', '-' or '_', at most 64, such as 2026-1")
    languages = [code for code, _name in settings.LANGUAGES]
    if language not in languages:
        raise field_problem("language", language, f"one of {', '.join(languages)}")
    if not title or len(title) > 200:
        raise field_problem("title", title, "a title of at most 200 characters")
    if not body or len(body) > MAX_BODY:
        raise field_problem("body", f"{len(body)} characters", f"a text of 1 to {MAX_BODY:,} characters")
    who = actor_of(actor)
    try:
        with transaction.atomic():
            if InformationSheet.objects.filter(version=version, language=language).exists():
                raise field_problem("version", version, "already published in this language: a published sheet never "
                                                   "changes, so publish the new text under a new version")  # fmt: skip
            sheet = InformationSheet.objects.create(
                version=version, language=language, title=title, body=body,
                sha256=hashlib.sha256(body.encode()).hexdigest(), published_at=timezone.now(),
                published_by_id=who.user_id,
            )  # fmt: skip
            audit_record(actor=who, action="registry.sheet.published", target=sheet,
                         data={"version": version, "language": language, "sha256": sheet.sha256})  # fmt: skip
    except IntegrityError as exc:  # published at the same moment by someone else
        raise field_problem("version", version, "already published in this language") from exc
    return sheet


def require_published(version: str, *, field: str = "sheet_version") -> str:
    """The version, if some language of it is published; otherwise a validation error naming the field."""
    version = str(version or "").strip()
    if not version:
        raise field_problem(field, "", "given under a version of the information sheet")
    if not InformationSheet.objects.filter(version=version).exists():
        raise field_problem(field, version, "not a published information sheet: publish it on the information "
                                       "sheets page first")  # fmt: skip
    return version
