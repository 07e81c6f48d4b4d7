from celery import shared_task
from django.utils.dateparse import parse_datetime

from accounts import services


@shared_task(ignore_result=True)
def api_key_mark_used(api_key_id, used_at):
    services.api_key_mark_used(api_key_id=api_key_id, used_at=parse_datetime(used_at))
