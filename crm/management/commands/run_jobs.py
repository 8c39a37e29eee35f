"""The job worker: ``manage.py run_jobs`` (docs/deploy.md runs it under systemd).

django-tasks-db's ``db_worker``, whose options it takes (``--batch``,
``--interval``, ``--max-tasks``…), plus the housekeeping of ``crm.jobs``
once a minute and before a task when one is due: jobs whose worker died are
given another attempt or marked failed (the backend alone would show them
running forever), and exports past their retention are deleted with their files.
Run one or several, on one host or many: each task goes to one worker.
"""

import logging
import os
import time

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from crm import jobs

logger = logging.getLogger(__name__)


class JobWorker(db_worker.Worker):
    """The backend's worker, looking after the jobs between tasks."""

    kept_house_at: float | None = None

    def keep_house(self) -> None:
        now = time.monotonic()
        if self.kept_house_at is not None and now - self.kept_house_at < jobs.HOUSEKEEPING_SECONDS:
            return
        self.kept_house_at = now
        try:
            jobs.housekeeping()
        except Exception:
            # A failed purge must not stop the exports; the next round tries again.
            logger.exception("The jobs' housekeeping failed.")

    def run_task(self, db_task_result) -> None:
        self.keep_house()
        super().run_task(db_task_result)

    def run(self) -> None:
        # The backend's loop, in rounds that end when the queue is empty, with
        # the housekeeping between rounds (it sleeps its own way otherwise).
        batch, self.batch = self.batch, True
        while True:
            self.keep_house()
            super().run()
            self.startup_delay = False
            limit_reached = self.max_tasks is not None and self._run_tasks >= self.max_tasks
            if batch or limit_reached or not self.running:
                return
            time.sleep(self.interval)


class Command(db_worker.Command):
    help = (
        "Run the queued jobs (large exports) as they come, and look after them: "
        "retry or fail the jobs of a dead worker, delete expired export files."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # db_worker's handle(), with our worker.
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = JobWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            try:
                worker.run()
            finally:
                worker.reset_signals()
