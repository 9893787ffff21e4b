from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "homeward.planning"
    label = "planning"
    verbose_name = _("Return planning")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind(
            "planning.create", handler="homeward.planning.jobs.plan_create_job", label=_("Planning scenario")
        )
        register_job_kind("planning.solve", handler="homeward.planning.jobs.plan_solve_job", label=_("Return plan"))
