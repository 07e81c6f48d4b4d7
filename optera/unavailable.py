"""The answer while PostgreSQL is unreachable: a 503 with Retry-After, on the dashboard and on /api.

Django turns any uncaught error into a 500; a database that is down for a restart is not a bug
in a page, and a client told to retry shortly will. The page is rendered without the request's
context: its context processors would read the session from the database that is away.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views import defaults

from proxy.db import RETRY_AFTER_SECONDS

DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_MESSAGE = "Optera's database is unavailable for a moment; retry shortly"


def database_unreachable(error):
    """Return whether `error` says the database cannot be reached (not that a statement was wrong)."""
    return isinstance(error, DATABASE_ERRORS)


def server_error(request):
    """Django's handler500: a 503 page while the database is away, else Django's own 500 page."""
    if not database_unreachable(sys.exc_info()[1]):
        return defaults.server_error(request)
    try:
        body = loader.get_template("503_database.html").render({"retry_after": RETRY_AFTER_SECONDS})
    except Exception:  # never fail while answering a failure
        return HttpResponseServerError(DATABASE_UNAVAILABLE_MESSAGE, content_type="text/plain")
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
