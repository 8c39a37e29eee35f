"""Scheduled work run by the job workers: each period's run, claimed once across all hosts."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ScheduledRun(models.Model):
    """One period of one scheduled command (crm.schedule), taken by the first worker to see it.

    The unique (name, slot) lets exactly one INSERT through, whatever the
    number of workers and hosts: the one that wins queues the command.
    """

    name = models.CharField(_("name"), max_length=50)
    # The start of the period, e.g. 07:00 for the digests' hour.
    slot = models.DateTimeField(_("period"))
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        ordering = ["-slot", "name"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="crm_scheduledrun_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.slot:%Y-%m-%d %H:%M}"
