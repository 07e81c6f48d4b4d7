"""Answering through the cache: plan the keys, look up (exact, then semantic), wait on an identical
request in flight, serve a hit, or forward and store the complete answer."""

import asyncio
import functools
import logging
from dataclasses import dataclass

import orjson
from django.db import DatabaseError

from analytics.pricing import Usage
from cachestore import keys
from proxy.db import DATABASE, DatabaseUnavailable
from proxy.lookup.exact import CachedAnswer
from proxy.lookup.native_messages import replay_events as replay_message_events
from proxy.lookup.native_responses import replay_events as replay_response_events
from proxy.lookup.replay import replay_stream
from proxy.lookup.semantic import describe_vector_failure, vector_statement_failed
from proxy.providers.openai_responses import usage_in_chat_terms

# The kinds of request that may be served a semantic hit, each with the context its answers live in:
# an Anthropic-native answer must never be served to a chat completion of the same text, or back.
SEMANTIC_KINDS = {"chat": "{provider}", "messages": "{provider}:native", "responses": "{provider}:responses"}
# Seconds between attempts to store an answer without its vector after the vector write failed.
EXACT_STORE_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
logger = logging.getLogger(__name__)


@dataclass
class CachePlan:
    kind: str
    key_hash: str
    ttl_seconds: int
    semantic: bool
    threshold: float
    context_hash: str = ""
    query_text: str | None = None
    embedding: object = None
    fingerprint: object = None  # the query's Fingerprint, with its words in memory only


def last_user_text(body):
    """Return the last message's text when it is a plain user text message, else None."""
    messages = body.get("messages") or []
    if not messages or body.get("tools") or any(message.get("role") == "tool" for message in messages):
        return None
    last = messages[-1]
    if last.get("role") != "user":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if (
        isinstance(content, list)
        and content
        and all(isinstance(part, dict) and part.get("type") in ("text", "input_text") for part in content)
    ):
        return " ".join(str(part.get("text") or "") for part in content)
    return None


def conversation_view(body, kind):
    """Return the body with its turns under "messages", as the semantic cache reads them; None when it cannot.

    A Responses request keeps its turns in `input` (a string is one user turn). One that continues
    a stored response (`previous_response_id`) depends on turns Optera never saw: no semantic serve.
    """
    if kind != "responses":
        return body
    if body.get("previous_response_id"):
        return None
    turns = body.get("input")
    if isinstance(turns, str):
        turns = [{"role": "user", "content": turns}]
    view = {key: value for key, value in body.items() if key != "input"}
    return {**view, "messages": turns if isinstance(turns, list) else []}


def plan(ctx, body, target, *, kind):
    """Return the CachePlan of a request, or None when its cache mode is off."""
    options = ctx.options
    if options.cache_mode == "off":
        return None
    secret = ctx.key_record.hash_key
    cache_plan = CachePlan(
        kind=kind,
        key_hash=keys.exact_key(secret=secret, endpoint=kind, provider=target.provider, model=target.model, body=body),
        ttl_seconds=options.cache_ttl_seconds,
        semantic=False,
        threshold=options.similarity_threshold,
    )
    if options.cache_mode == "semantic" and kind in SEMANTIC_KINDS and ctx.runtime.semantic.available:
        body = conversation_view(body, kind)
        query_text = last_user_text(body) if body is not None else None
        if query_text and query_text.strip():
            cache_plan.semantic = True
            cache_plan.query_text = query_text
            cache_plan.context_hash = keys.context_key(
                secret=secret,
                provider=SEMANTIC_KINDS[kind].format(provider=target.provider),
                model=target.model,
                body=body,
            )
    return cache_plan


async def look_up(ctx, cache_plan):
    """Return a CachedAnswer (exact first, then semantic), or None."""
    cache = ctx.runtime.cache
    workspace_id = ctx.key_record.workspace_id
    try:
        answer = await cache.get(workspace_id, cache_plan.key_hash)
    except DatabaseUnavailable:  # the database is away: a miss (Redis and this process still answer)
        ctx.record.degrade(DATABASE)
        answer = None
    if answer is not None:
        ctx.record.cache_status = "hit"
        return answer
    if cache_plan.semantic:
        answer = await ctx.runtime.semantic.find(ctx, cache_plan)
        if answer is not None:
            ctx.record.cache_status = "semantic"
            return answer
    ctx.record.cache_status = "miss"
    return None


async def serve(ctx, answer, *, stream, include_usage, kind="chat"):
    """Answer from the cache: no upstream call, the saving is what the stored answer cost."""
    record = ctx.record
    record.model_used, record.provider = answer.model, answer.provider
    record.usage = Usage()
    record.cost_usd = 0
    record.savings = {"cache": float(answer.cost_usd)}
    record.priced = True
    record.status_code = 200
    headers = ctx.optera_headers() + [("x-optera-saved-usd", f"{answer.cost_usd:f}")]
    if answer.similarity is not None:
        headers.append(("x-optera-similarity", f"{answer.similarity:.4f}"))
    if stream:
        if kind == "messages":
            events = replay_message_events(answer.response)
        elif kind == "responses":
            events = replay_response_events(answer.response)
        else:
            events = replay_stream(answer.response, include_usage=include_usage)
        await ctx.responder.start_stream(200, headers)
        for event in events:
            await ctx.responder.chunk(event)
        await ctx.responder.finish()
    else:
        await ctx.responder.json(200, orjson.dumps(answer.response), headers + [("x-optera-cost-usd", "0")])
    ctx.runtime.cache.record_hit(answer.entry_id)


async def store_and_land(ctx, cache_plan, response, *, leads):
    """Store a complete answer (when there is one), then release the requests waiting on it (if this one led)."""
    workspace_id = ctx.key_record.workspace_id
    try:
        if response is not None:
            record = ctx.record
            usage = usage_of_answer(cache_plan.kind, response)
            cost = await ctx.runtime.prices.cost(record.provider, record.model_used, usage)
            answer = CachedAnswer(
                entry_id=None,
                response=response,
                usage=response.get("usage") or {},
                cost_usd=cost,
                model=record.model_used,
                provider=record.provider,
            )
            if not _storable(response):
                logger.info("cache: the answer to request %s holds a NUL character; not cached", record.request_id)
                return
            ctx.runtime.cache.remember_completed(
                workspace_id, cache_plan.key_hash, answer, ttl_seconds=cache_plan.ttl_seconds
            )
            if cache_plan.semantic and cache_plan.embedding is None:
                await ctx.runtime.semantic.prepare(ctx, cache_plan)
            await _put(ctx, cache_plan, answer)
    except Exception as error:  # not storing costs a future hit, never this request
        # The error's type only: a database error's message can quote the answer it refused.
        logger.warning(
            "cache: could not store the answer to request %s: %s", ctx.record.request_id, type(error).__name__
        )
    finally:
        if leads:
            ctx.runtime.flights.land(workspace_id, cache_plan.key_hash)


def usage_of_answer(kind, response):
    """Read a stored answer's usage in its own API's terms."""
    if kind == "messages":
        return Usage.from_anthropic(response.get("usage"))
    if kind == "responses":
        return Usage.from_openai(usage_in_chat_terms(response.get("usage")))
    return Usage.from_openai(response.get("usage"))


def _storable(response):
    """Return whether PostgreSQL's jsonb can hold the answer: it refuses the NUL character."""
    return b"\\u0000" not in orjson.dumps(response)


async def _put(ctx, cache_plan, answer):
    """Store the answer with its vector; if the vector write fails, switch semantic off and keep it for exact hits."""
    put = functools.partial(
        ctx.runtime.cache.put,
        workspace_id=ctx.key_record.workspace_id,
        key_hash=cache_plan.key_hash,
        ttl_seconds=cache_plan.ttl_seconds,
        answer=answer,
        kind=cache_plan.kind,
        context_hash=cache_plan.context_hash,
    )
    if cache_plan.embedding is None:
        return await put()
    try:
        fingerprint = cache_plan.fingerprint.to_json() if cache_plan.fingerprint is not None else None
        return await put(embedding=cache_plan.embedding, fingerprint=fingerprint)
    except (DatabaseError, DatabaseUnavailable) as error:
        if not vector_statement_failed(error):
            raise  # the database is away: nothing is stored, as for any answer meanwhile
        ctx.runtime.semantic.switch_off(describe_vector_failure("storing a vector", error))
    # A backend that died takes PostgreSQL through crash recovery, which refuses connections for a moment.
    for pause in EXACT_STORE_RETRY_PAUSES:
        await asyncio.sleep(pause)
        try:
            return await put()
        except (DatabaseError, DatabaseUnavailable):
            continue
    return await put()


async def answer_through_cache(ctx, cache_plan, forward, *, primary, stream=False, include_usage=False):
    """Serve from the cache, or wait for an identical request in flight, or call `forward` and store its answer.

    Return the CachedAnswer served, or None when the request went upstream. `forward()` relays the
    upstream answer to the client and returns the complete response worth storing, or None. Only
    the primary model's answer may be stored under this request's key.
    """
    if cache_plan is None:
        await forward()
        return None
    answer = await look_up(ctx, cache_plan)
    flight = None
    if answer is None:
        flight = await ctx.runtime.flights.join(ctx.key_record.workspace_id, cache_plan.key_hash)
        if flight.answer is not None:
            answer = flight.answer
            ctx.record.cache_status = "hit"
    if answer is not None:
        await serve(ctx, answer, stream=stream, include_usage=include_usage, kind=cache_plan.kind)
        return answer
    response_to_store = None
    try:
        response_to_store = await forward()
    finally:
        if (ctx.record.provider, ctx.record.model_used) != (primary.provider, primary.model):
            response_to_store = None
        ctx.runtime.run_in_background(store_and_land(ctx, cache_plan, response_to_store, leads=flight.leads))
