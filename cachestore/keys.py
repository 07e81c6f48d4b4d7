"""Keyed, versioned hashes of requests: the exact-cache key and the semantic context.

The canonical form sorts object keys and writes integral floats as integers, so the same request
in another key order or number format (1 vs 1.0) gets the same key. Fields that do not change the
answer (streaming and bookkeeping) are left out, so a stream can be served from a non-stream
entry and back.
"""

import hashlib
import hmac

import orjson

KEY_VERSION = "v1"
# Hot-tier answers in Redis: optera:cache:<workspace id>:<key hash>.
REDIS_CACHE_PREFIX = "optera:cache:"
# A miss being answered, claimed across processes so it goes upstream once: optera:flight:<workspace id>:<key hash>.
REDIS_FLIGHT_PREFIX = "optera:flight:"
# Fields that change how an answer is delivered or billed, never what it says.
NOT_ANSWER_FIELDS = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
)


def _canonical(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _keyed_hash(secret, purpose, payload):
    message = f"{KEY_VERSION}:{purpose}:".encode() + orjson.dumps(_canonical(payload), option=orjson.OPT_SORT_KEYS)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def answer_fields(body, *, model):
    fields = {key: value for key, value in body.items() if key not in NOT_ANSWER_FIELDS}
    fields["model"] = model
    return fields


def exact_key(*, secret, endpoint, provider, model, body):
    """Return the HMAC naming this exact request in its workspace."""
    return _keyed_hash(secret, f"exact:{endpoint}:{provider}", answer_fields(body, model=model))


def context_key(*, secret, provider, model, body):
    """Return the HMAC of everything but the last message: semantic hits need it to be equal."""
    fields = answer_fields(body, model=model)
    fields["messages"] = list(fields.get("messages") or [])[:-1]
    return _keyed_hash(secret, f"context:{provider}", fields)


def prompt_hash(*, secret, body):
    """Return the HMAC of a request's messages, for grouping equal prompts in the request log."""
    return _keyed_hash(secret, "prompt", body.get("messages") or body.get("input") or "")


def message_prefix_hashes(*, secret, messages):
    """Return one keyed chain hash per prefix: item i names messages[:i + 1].

    Chaining makes every prefix's hash cost one step, so a long conversation is hashed once.
    """
    chained = hmac.new(secret.encode(), f"{KEY_VERSION}:prefix".encode(), hashlib.sha256).digest()
    hashes = []
    for message in messages:
        message_digest = hashlib.sha256(orjson.dumps(_canonical(message), option=orjson.OPT_SORT_KEYS)).digest()
        chained = hmac.new(secret.encode(), chained + message_digest, hashlib.sha256).digest()
        hashes.append(chained.hex())
    return hashes


def redis_cache_key(workspace_id, key_hash):
    """Return the Redis key of a cached answer in the hot tier."""
    return f"{REDIS_CACHE_PREFIX}{workspace_id}:{key_hash}"


def redis_cache_pattern(workspace_id):
    """Return the SCAN pattern that matches every hot-tier answer of one workspace."""
    return f"{REDIS_CACHE_PREFIX}{workspace_id}:*"


def redis_flight_key(workspace_id, key_hash):
    """Return the Redis key that one process holds while it answers a miss for every process."""
    return f"{REDIS_FLIGHT_PREFIX}{workspace_id}:{key_hash}"


def redis_flight_pattern(workspace_id):
    """Return the SCAN pattern that matches every single-flight claim of one workspace."""
    return f"{REDIS_FLIGHT_PREFIX}{workspace_id}:*"
