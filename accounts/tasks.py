from celery import shared_task
from django.utils.dateparse import parse_datetime

from accounts import services


@shared_task(ignore_result=True)
def api_key_mark_used(api_key_id, used_at):
    services.api_key_mark_used(api_key_id=api_key_id, used_at=parse_datetime(used_at))


@shared_task(ignore_result=True)
def workspace_purge(workspace_id):
    services.workspace_purge(workspace_id=workspace_id)


@shared_task(ignore_result=True)
def workspaces_purge_deleted():
    services.workspaces_purge_deleted()
