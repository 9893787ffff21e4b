"""Errors that Homeward raises on purpose, each with a message meant for a person."""

from __future__ import annotations


class HomewardError(Exception):
    """Base of every error raised on purpose; its message is shown to the user as it is."""


class ConfigurationError(HomewardError):
    """The installation is set up wrongly (settings, keys, database, folders)."""


class NotFoundError(HomewardError):
    """A record does not exist, or the actor may not see it: the two are never told apart."""


class PermissionDeniedError(HomewardError):
    """The actor may not perform this action."""


class ValidationError(HomewardError):
    """Input is invalid; ``problems`` lists each one as (location, field, reason)."""

    def __init__(self, message: str, problems: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class CryptoError(HomewardError):
    """A value could not be encrypted or decrypted with the configured keys."""
