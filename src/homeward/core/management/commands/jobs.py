"""List background jobs, or follow one with a progress bar."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from homeward.core.jobs import job_effective_state, job_error_text, job_kind_label
from homeward.core.models import Job


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "List background jobs (jobs list) or follow one (jobs watch ID)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the latest jobs")
        listing.add_argument("-n", type=positive, default=20, help="how many (default 20)")
        watch = sub.add_parser("watch", help="follow one job until it ends")
        watch.add_argument("job_id", type=int)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            for job in Job.objects.order_by("-created_at")[: options["n"]]:
                total = f"/{job.total}" if job.total is not None else ""
                self.stdout.write(
                    f"{job.pk:>6}  {job_effective_state(job):<9}  {job.done}{total:<10}  {job_kind_label(job.kind)}"
                )
            return
        found = Job.objects.filter(pk=options["job_id"]).first()
        if found is None:
            raise CommandError(f"there is no job {options['job_id']}")
        job = found
        bar: Any = tqdm(total=job.total, desc=job_kind_label(job.kind), unit="", file=sys.stderr)
        while True:
            job.refresh_from_db()
            state = job_effective_state(job)
            if job.total is not None and bar.total != job.total:
                bar.total = job.total
            bar.n = job.done
            bar.set_postfix_str(job.message[:60], refresh=True)
            if state in (Job.State.SUCCEEDED, Job.State.FAILED):
                break
            time.sleep(0.5)
        bar.close()
        if state == Job.State.FAILED:
            raise CommandError(f"job {job.pk} failed: {job_error_text(job)}")
        self.stdout.write(f"job {job.pk} finished")
