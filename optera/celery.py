"""The Celery app: Redis as broker when REDIS_URL is set, else kombu's SQLAlchemy transport.

The SQLAlchemy transport keeps the queue in our own PostgreSQL, so the embedded default runs
its worker with no extra server. It polls, so a task waits up to a second longer to start;
production sets REDIS_URL.
"""

import os
from datetime import timedelta
from urllib.parse import quote

from celery import Celery

from optera.sweeps import SWEEPS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")

app = Celery("optera")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Each recorded email enqueues its own delivery; this sends one whose task was lost.
    "deliver-lost-emails": {"task": "accounts.tasks.emails_deliver_lost", "schedule": timedelta(minutes=10)},
    **{
        f"sweep-{sweep.name}": {"task": "optera.tasks.sweep", "args": [sweep.name], "schedule": sweep.every}
        for sweep in SWEEPS
    },
}


def broker_url():
    """Return the broker URL: Redis, or the database the Django settings point at."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL:
        return settings.CELERY_BROKER_URL
    if settings.REDIS_URL:
        return settings.REDIS_URL
    database = settings.DATABASES["default"]
    if settings.EMBEDDED:
        from optera.db.embedded.server import embedded_postgres

        database = {**database, **embedded_postgres(database["EMBEDDED_DATA_DIR"])}
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or ""
    port = database.get("PORT") or ""
    name = database["NAME"]
    if host.startswith("/"):
        return f"sqla+postgresql+psycopg://{credentials}/{name}?host={quote(host, safe='/')}"
    return f"sqla+postgresql+psycopg://{credentials}{host}{':' + str(port) if port else ''}/{name}"


@app.on_after_configure.connect
def _point_at_broker(sender, **kwargs):
    sender.conf.broker_url = broker_url()
