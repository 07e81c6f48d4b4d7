"""Who and what a request is for: the end user, tags and session, read once at admission.

Stored with the request (never forwarded): `X-Optera-User` (else the OpenAI body's `user`, or the
Anthropic body's `metadata.user_id`), `X-Optera-Tags` (comma-separated words or `key:value`, at
most 10 of at most 64 characters), `X-Optera-Session` and `X-Optera-Session-Path` (an agent run
and its step, e.g. `plan/search/3`). They are the customer's identifiers and should be
pseudonymous; a value that breaks these rules is the client's 400, and nothing is sent.
"""

import re
from dataclasses import dataclass

from proxy.errors import ProxyError

MAX_IDENTIFIER = 128
MAX_TAGS = 10
MAX_TAG = 64
MAX_SESSION_PATH = 256
TAG = re.compile(r"[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.\-/ ]+)?")
SESSION_PATH = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


@dataclass(frozen=True)
class Attribution:
    end_user: str = ""
    tags: tuple = ()
    session_id: str = ""
    session_path: str = ""

    @classmethod
    def from_request(cls, headers, body):
        """Read the attribution headers (and the body's user) of a request, or raise a 400 naming the header."""
        return cls(
            end_user=_identifier(headers.get("x-optera-user") or _body_user(body), "X-Optera-User"),
            tags=_tags(headers.get("x-optera-tags", "")),
            session_id=_identifier(headers.get("x-optera-session", ""), "X-Optera-Session"),
            session_path=_session_path(headers.get("x-optera-session-path", "")),
        )


def _body_user(body):
    if not isinstance(body, dict):
        return ""
    user = body.get("user")
    if user is None and isinstance(body.get("metadata"), dict):
        user = body["metadata"].get("user_id")
    return user if isinstance(user, str) else ""


def _identifier(value, name):
    value = value.strip()
    if len(value) > MAX_IDENTIFIER or not value.isprintable():
        raise _invalid(name, f"at most {MAX_IDENTIFIER} printable characters")
    return value


def _tags(header):
    tags = tuple(dict.fromkeys(tag.strip() for tag in header.split(",") if tag.strip()))
    if len(tags) > MAX_TAGS:
        raise _invalid("X-Optera-Tags", f"at most {MAX_TAGS} tags")
    for tag in tags:
        if len(tag) > MAX_TAG or not TAG.fullmatch(tag):
            raise _invalid("X-Optera-Tags", f"words or key:value pairs of at most {MAX_TAG} letters, digits or _.-")
    return tags


def _session_path(value):
    value = value.strip()
    # A step of dots alone ("..") reads like a file path's parent; it names no step of a run.
    if value and (
        len(value) > MAX_SESSION_PATH
        or not SESSION_PATH.fullmatch(value)
        or any(not step.strip(".") for step in value.split("/"))
    ):
        raise _invalid("X-Optera-Session-Path", "steps of letters, digits or _.- separated by /")
    return value


def _invalid(name, rule):
    return ProxyError(400, f"{name} must be {rule}", param=name, code="invalid_header")
