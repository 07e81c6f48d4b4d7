"""Typed readers for environment variables that fail loudly on bad values.

Settings are configured from the environment only; a typo such as DEBUG=ture must stop the
process at start rather than silently mean False.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def envstr(name, default=None):
    """Return the variable's value, or `default` when unset; `NAME_FILE` is read when set."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {error}") from error
    return os.environ.get(name, default)


def envbool(name, default):
    """Return the variable as a bool; accept 1/0, true/false, yes/no, on/off."""
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false, 1/0, on/off)")


def envint(name, default, *, minimum=None, maximum=None):
    """Return the variable as an int within the given bounds."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum {maximum}")
    return number


def envlist(name, default):
    """Return a comma-separated variable as a list of stripped, non-empty items."""
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def envurl(name, default, *, schemes=("http", "https")):
    """Return an http(s) base URL without a trailing slash; with an empty default, unset gives ""."""
    value = os.environ.get(name) or default
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an absolute {'/'.join(schemes)} URL")
    return value.rstrip("/")


def parse_database_url(url):
    """Return Django DATABASES parameters for a postgres:// URL (TCP or percent-encoded socket dir)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme!r}")
    database_name = unquote(parts.path.lstrip("/"))
    if not database_name:
        raise ImproperlyConfigured("DATABASE_URL names no database")
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    # urlsplit lower-cases `hostname`, which would corrupt a socket directory, so read netloc.
    host_part = parts.netloc.rsplit("@", 1)[-1]
    host = (
        unquote(host_part.rsplit(":", 1)[0]) if ":" in host_part and not host_part.endswith("]") else unquote(host_part)
    )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("DATABASE_URL has an invalid port") from None
    return {
        "NAME": database_name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(query.get("host", "")) or host,
        "PORT": str(port or ""),
    }
