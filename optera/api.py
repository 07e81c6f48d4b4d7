"""The management API: one NinjaAPI, one router per app, OpenAPI docs at /api/docs.

Errors come in the same shape, and with the same type for a status, as on the /v1 surface: both
are built by proxy.errors.openai_error_body.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.api import router as accounts_router
from analytics.api import router as analytics_router
from billing.api import router as billing_router
from billing.services import BillingRefused
from optera.unavailable import DATABASE_UNAVAILABLE_MESSAGE, database_unreachable
from proxy.db import RETRY_AFTER_SECONDS
from proxy.errors import openai_error_body

logger = logging.getLogger(__name__)
api = NinjaAPI(title="Optera management API", version="1", urls_namespace="api")
api.add_router("/", accounts_router)
api.add_router("/", analytics_router)
api.add_router("/", billing_router)


def error_response(request, status, message, *, code=None):
    return api.create_response(request, openai_error_body(status, message, code=code), status=status)


@api.exception_handler(HttpError)
def http_error(request, exc):
    return error_response(request, exc.status_code, str(exc))


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return error_response(request, 401, "sign in first", code="not_authenticated")


@api.exception_handler(BillingRefused)
def billing_refused(request, exc):
    return error_response(request, exc.status, exc.message, code=exc.code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return error_response(request, 404, "not found")


@api.exception_handler(Exception)
def internal_error(request, exc):
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(request, 500, "internal error", code="internal_error")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request, exc):
    if not database_unreachable(exc):
        return internal_error(request, exc)
    response = error_response(request, 503, DATABASE_UNAVAILABLE_MESSAGE, code="database_unavailable")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(MultiPartParserError)
def unreadable_form(request, exc):
    # Parsing a form body happens before the endpoint (Django's CSRF check reads request.POST).
    return error_response(request, 400, "the body is not valid multipart/form-data; send JSON (application/json)")


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return error_response(request, 413, "the request body is too large")


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    problems = [f"{_field_of(error)}: {error.get('msg')}" for error in exc.errors]
    return error_response(request, 400, "invalid request: " + "; ".join(problems))


def _field_of(error):
    """Name the offending field ("operator_keys"), not where ninja looked for it ("body", "payload")."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "filters")]
    return ".".join(location) or "request"
