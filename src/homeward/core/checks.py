"""System checks that turn a wrong installation into one clear message."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def keys_configured(app_configs: Any, **kwargs: Any) -> list[Error]:
    if getattr(settings, "HOMEWARD_KEYRING", None) is None:
        return [
            Error(
                f"no key file at {settings.KEY_FILE} and HOMEWARD_KEYS is not set",
                hint="run `homeward keys init` to create the key file (keep it out of the repository and backups "
                "of the database)",
                id="homeward.E001",
            )
        ]
    return []
