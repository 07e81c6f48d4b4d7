"""The sweeps as one Celery task, which beat runs for each name on its schedule (optera.sweeps)."""

import logging

from celery import shared_task

from optera import sweeps

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sweep(name):
    removed = sweeps.sweep_run(name)
    if removed:
        logger.info("sweep %s: removed %s", name, removed)
