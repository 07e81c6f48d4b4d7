"""Errors the proxy answers with, in OpenAI's shape on /v1 and Anthropic's on /v1/messages.

The management API (/api) answers in the same OpenAI shape, built by the same `openai_error_body`.
"""

import orjson

OPENAI_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "upstream_error",
    504: "timeout_error",
}

ANTHROPIC_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


def openai_error_type(status):
    """Return OpenAI's error type for an HTTP status; a status missing from the table is the client's fault."""
    return OPENAI_TYPE_BY_STATUS.get(status, "invalid_request_error")


def openai_error_body(status, message, *, code=None, param=None, error_type=None):
    """Return OpenAI's error object, {"error": {"message", "type", "param", "code"}}, typed by status unless given."""
    return {
        "error": {"message": message, "type": error_type or openai_error_type(status), "param": param, "code": code}
    }


class ProxyError(Exception):
    """A request that ends in an error response; `headers` go out with it (e.g. Retry-After)."""

    def __init__(self, status, message, *, code=None, param=None, error_type=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type or openai_error_type(status)
        self.headers = headers or []

    def openai_body(self):
        return orjson.dumps(
            openai_error_body(self.status, self.message, code=self.code, param=self.param, error_type=self.error_type)
        )

    def anthropic_body(self):
        anthropic_type = ANTHROPIC_TYPE_BY_STATUS.get(self.status, "api_error")
        return orjson.dumps({"type": "error", "error": {"type": anthropic_type, "message": self.message}})


def bad_request(message, *, param=None, code=None):
    return ProxyError(400, message, param=param, code=code)


class UpstreamFailure(Exception):
    """An upstream answer or fault that a retry or a fallback model may cure."""

    def __init__(self, status, body=b"", headers=None, reason="", timed_out=False, retryable=False):
        super().__init__(reason or f"upstream answered {status}")
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.reason = reason
        # No first byte in time (as opposed to the provider's own 504).
        self.timed_out = timed_out
        # Safe and worth sending again: no connection was made, or a 429/5xx the provider lets us retry.
        self.retryable = retryable
