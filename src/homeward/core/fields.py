"""Model fields for partial dates and encrypted text."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from homeward.core.crypto import decrypt_value, encrypt_value, is_token
from homeward.core.partialdate import PartialDate


class PartialDateField(models.CharField):  # type: ignore[type-arg]
    """Stores ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; sorts as text in date order."""

    description = "A date known to the year, month or day"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_length"] = 10
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> PartialDate | None:
        return None if value in (None, "") else PartialDate.parse(value)

    def to_python(self, value: Any) -> PartialDate | None:
        if value is None or isinstance(value, PartialDate):
            return value
        if value == "":
            return None
        try:
            return PartialDate.parse(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_prep_value(self, value: Any) -> str | None:
        value = self.to_python(value)
        return None if value is None else str(value)


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored as an AES-GCM token bound to ``context``; decrypted on load.

    Not searchable or sortable in the database: pair it with a blind index field
    for exact look-ups.
    """

    def __init__(self, *args: Any, context: str, **kwargs: Any) -> None:
        self.context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["context"] = self.context
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_value(value, context=self.context)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None if value is None else ""
        text = str(value)
        if is_token(text):
            raise ValidationError("refusing to store an encrypted token as plain text")
        return encrypt_value(text, context=self.context)
