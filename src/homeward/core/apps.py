from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "homeward.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from homeward.core import checks  # noqa: F401  (registers the system checks)
