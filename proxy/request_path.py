"""The /v1 request path, top to bottom: admit → shape → look up → forward → account.

`serve` is the frame every request goes through: it admits the request (stage 1), runs its
endpoint, which shapes it (2), looks it up in the cache (3) and forwards it upstream (4), answers
any failure in the endpoint's error shape, and accounts for it exactly once (5), whether it
succeeded, failed, was cancelled by a client hanging up, or streamed to its end.
"""

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from django.conf import settings

from cachestore import keys
from proxy.account.accounting import account
from proxy.account.record import RequestRecord
from proxy.admit.attribution import Attribution
from proxy.admit.credentials import credentials_from
from proxy.admit.options import RequestOptions
from proxy.admit.validation import (
    validate_chat_body,
    validate_embeddings_body,
    validate_native_messages_body,
    validate_responses_body,
)
from proxy.asgi_io import Responder, cancel_on_disconnect, header_map, parse_json_object, read_body
from proxy.context import RequestContext
from proxy.db import DATABASE, DatabaseUnavailable
from proxy.errors import ProxyError
from proxy.forward.relay import pass_error_through, relay_json, relay_stream, send_to_targets
from proxy.forward.tiers import FLEX
from proxy.lookup import through_cache
from proxy.lookup.native_messages import storable_message
from proxy.lookup.native_responses import storable_response
from proxy.lookup.replay import completion_from_stream
from proxy.providers import anthropic, openai, openai_responses, provider_named
from proxy.providers.base import PromptCacheHints
from proxy.shape.cache_cadence import anthropic_cache_ttl
from proxy.shape.messages import leading_system_count
from proxy.shape.repeats import without_repeated_code
from proxy.shape.routing import AUTO_MODEL, Target, provider_of, route

logger = logging.getLogger(__name__)
LARGE_BODY_BYTES = 256 * 1024
ANTHROPIC_PATHS = ("/v1/messages", "/v1/complete")


@dataclass(frozen=True)
class Endpoint:
    name: str
    run: Callable[[RequestContext, dict | None], Awaitable[None]]
    reads_body: bool
    anthropic_shape: bool  # errors in Anthropic's shape rather than OpenAI's


@dataclass
class Admission:
    """The request's context once admitted (None while the body is read and the key checked)."""

    ctx: RequestContext | None = None


async def serve(runtime, scope, receive, send):
    """Take one /v1 request through the five stages and account for it once, however it ends."""
    endpoint = ENDPOINTS.get((scope["method"], scope["path"].rstrip("/")))
    responder = Responder(send)
    record = RequestRecord(
        request_id=f"req_{secrets.token_hex(12)}",
        endpoint=endpoint.name if endpoint else "unknown",
        started=time.perf_counter(),
        client_ip=(scope.get("client") or (None,))[0],
    )
    admission = Admission()
    # Anthropic's SDK reads errors in its own shape on every path of its API, known to Optera or not.
    anthropic_shape = endpoint.anthropic_shape if endpoint else scope["path"].startswith(ANTHROPIC_PATHS)
    stages = asyncio.ensure_future(_admit_and_run(runtime, endpoint, scope, receive, responder, record, admission))
    try:
        await stages
    except asyncio.CancelledError:
        server_cancelled = not stages.done()  # else the client hung up, which cancelled the stages alone
        if server_cancelled:
            stages.cancel()
        if not responder.started:
            record.status_code, record.error_type, record.savings = 499, "client_disconnected", {}
        elif not responder.finished:
            record.status_code, record.error_type = 499, "client_disconnected"
        if server_cancelled:
            raise
    except ProxyError as error:
        await _answer_error(responder, record, error, anthropic_shape)
    except Exception:
        logger.exception("unhandled error in %s (request %s)", record.endpoint, record.request_id)
        await _answer_error(
            responder, record, ProxyError(500, "internal error", code="internal_error"), anthropic_shape
        )
    finally:
        if record.workspace_id is not None:
            ctx = admission.ctx
            # 5. Account: in the background, so a client leaving during the last write cannot lose the record.
            runtime.run_in_background(
                account(runtime, record, stream=ctx.relayed_stream if ctx else None, quota=ctx.quota if ctx else None)
            )


async def _admit_and_run(runtime, endpoint, scope, receive, responder, record, admission):
    headers = header_map(scope)
    if endpoint is None:
        await read_body(receive, declared_length=None, limit=settings.OPTERA_MAX_BODY_BYTES)
        if scope["path"].startswith("/v1/responses/"):
            raise ProxyError(
                404,
                "Optera proxies POST /v1/responses only; retrieve, cancel or delete stored responses at OpenAI",
                code="unknown_url",
            )
        raise ProxyError(404, f"no route for {scope['method']} {scope['path']}", code="unknown_url")
    body, body_size = None, 0
    if endpoint.reads_body:
        raw = await read_body(
            receive, declared_length=headers.get("content-length"), limit=settings.OPTERA_MAX_BODY_BYTES
        )
        body, body_size = parse_json_object(raw), len(raw)
    # Only now, with the body read, may anything else call receive(): it waits for a hang-up.
    async with cancel_on_disconnect(receive):
        admission.ctx = await admit(runtime, endpoint, headers, body, body_size, responder, record)
        await endpoint.run(admission.ctx, body)


# 1. Admit ------------------------------------------------------------------------------------------


async def admit(runtime, endpoint, headers, body, body_size, responder, record):
    """Authenticate the key, apply the rate limit, read the options, count the plan's quotas; return the context."""
    credentials = credentials_from(headers, native_anthropic=endpoint.anthropic_shape)
    key_record, stale = await runtime.keys.authenticate(credentials.optera_key)
    if stale:
        record.degrade(DATABASE)
    record.workspace_id = key_record.workspace_id
    record.api_key_id = key_record.api_key_id
    await runtime.rate_limiter.check(key_record)
    runtime.note_key_used(key_record.api_key_id)
    ctx = RequestContext(
        runtime=runtime,
        record=record,
        responder=responder,
        headers=headers,
        credentials=credentials,
        key_record=key_record,
        options=RequestOptions.from_request(headers, key_record.settings, default_tier=key_record.default_tier),
    )
    attribution = Attribution.from_request(headers, body)
    record.end_user, record.tags = attribution.end_user, attribution.tags
    record.session_id, record.session_path = attribution.session_id, attribution.session_path
    ctx.quota = await runtime.quotas.admit(ctx, body, endpoint=endpoint.name)
    await runtime.budgets.admit(ctx, body, ctx.quota)
    if body is not None:
        record.prompt_hash = await _prompt_hash(key_record.hash_key, body, body_size)
    return ctx


async def _prompt_hash(secret, body, body_size):
    """Key the request's messages for the log, so equal prompts can be grouped and never read back."""
    if body_size < LARGE_BODY_BYTES:
        return keys.prompt_hash(secret=secret, body=body)
    # Canonicalising a large body takes milliseconds: not on the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, lambda: keys.prompt_hash(secret=secret, body=body))


async def _answer_error(responder, record, error, anthropic_shape):
    """Answer a failure in the endpoint's error shape (unless a stream already started: it ended in-band)."""
    record.status_code = error.status
    record.error_type = error.code or error.error_type
    record.savings = {}
    if responder.started:
        return
    body = getattr(error, "raw_body", None) or (error.anthropic_body() if anthropic_shape else error.openai_body())
    headers = [("x-optera-request-id", record.request_id)] + list(error.headers)
    if record.model_used:
        headers += [("x-optera-model", record.model_used), ("x-optera-provider", record.provider)]
    await responder.json(error.status, body, headers)


# POST /v1/chat/completions: 2. shape → 3. look up → 4. forward -----------------------------------


async def chat_completions(ctx, body):
    validate_chat_body(body)
    record = ctx.record
    stream = body.get("stream") is True
    include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
    record.stream = stream
    record.model_requested = body.get("model") if isinstance(body.get("model"), str) else ""
    # 2. Shape: where it goes (the rest of shaping happens only if it must go upstream).
    chosen_route = route(body, ctx.key_record.settings, routing=ctx.options.routing)
    targets = chosen_route.targets
    primary = targets[0]
    record.route_reason = chosen_route.reason
    record.route_baseline = chosen_route.baseline

    async def shape_and_forward():
        # The client's own messages name the conversation: shaping may change what is sent, not who it is.
        # Chosen before shaping: a conversation no provider cache outlives is worth summarising.
        cache_ttl = await anthropic_cache_ttl(ctx, targets, messages=body.get("messages"))
        ctx.provider_cache_ttl = cache_ttl
        upstream_body = await _shape(ctx, body, primary)
        return await _forward_chat(
            ctx, upstream_body, targets, stream=stream, include_usage=include_usage, anthropic_cache_ttl=cache_ttl
        )

    # 3. Look up, and 4. forward on a miss.
    cache_plan = through_cache.plan(ctx, body, primary, kind="chat")
    served = await through_cache.answer_through_cache(
        ctx, cache_plan, shape_and_forward, primary=primary, stream=stream, include_usage=include_usage
    )
    # Only now, with the answer sent in full, may a sampled semantic hit be asked upstream again.
    if served is not None and record.cache_status == "semantic":
        ctx.runtime.verify_sampler.consider(ctx, body, primary, served)


async def _shape(ctx, body, primary):
    """Return the body to send upstream: stored summaries in place of older turns, compressed system prompts
    and, where the workspace turns it on, code pasted again as a pointer to its earlier copy.

    The cache keys and the summary hashes stay on the client's own messages, so shaping never
    changes what is a hit or which summary applies.
    """
    original = body.get("messages")
    try:
        messages = await ctx.runtime.summaries.apply(ctx, body, primary)
        messages = await ctx.runtime.compressor.apply(
            ctx, messages, system_count=leading_system_count(original), target=primary
        )
        if ctx.options.repeated_code:
            messages = await without_repeated_code(ctx, messages, primary)
    except DatabaseUnavailable:  # stored summaries and compressed prompts are out of reach: send it as it came
        ctx.record.degrade(DATABASE)
        ctx.record.savings.pop("summary", None)
        ctx.record.savings.pop("compression", None)
        return body
    if messages is original:
        return body
    return {**body, "messages": messages}


async def _forward_chat(ctx, body, targets, *, stream, include_usage, anthropic_cache_ttl):
    """Send upstream and relay the answer; return the complete chat.completion worth caching, or None."""
    cache_hints = None
    if ctx.options.provider_prompt_cache:
        cache_hints = PromptCacheHints(
            workspace_id=ctx.key_record.workspace_id,
            cache_secret=ctx.key_record.hash_key,
            anthropic_ttl=anthropic_cache_ttl,
        )

    def build_request(target, provider_key, tier):
        return provider_named(target.provider).chat_request(
            body,
            model=target.model,
            provider_key=provider_key,
            stream=stream,
            cache_hints=cache_hints,
            flex=tier == FLEX,
        )

    target, response, started = await send_to_targets(ctx, targets, build_request, flex_endpoint=True)
    provider = provider_named(target.provider)
    try:
        if response.status >= 400:
            await pass_error_through(ctx, response, started, provider.error_body)
        if stream:
            relay = provider.StreamRelay(model=target.model, include_usage=include_usage)
            outcome = await relay_stream(ctx, response, started, relay, prompt_body=body)
            # A stream is assembled from content and tool calls only: one that also carried several
            # choices or log-probabilities cannot be replayed faithfully, so it is not stored.
            if body.get("n", 1) not in (1, None) or body.get("logprobs"):
                return None
            return completion_from_stream(outcome, model=target.model, created=int(time.time()))
        parsed = await relay_json(
            ctx, response, started, parse=lambda raw: provider.chat_response(raw, model=target.model)
        )
        return parsed if _is_complete(parsed) else None
    finally:
        response.release()


def _is_complete(completion):
    choices = completion.get("choices") if isinstance(completion, dict) else None
    return bool(choices) and all(choice.get("finish_reason") in ("stop", "tool_calls", "length") for choice in choices)


# POST /v1/embeddings: no shaping → 3. look up → 4. forward ---------------------------------------


async def embeddings(ctx, body):
    record = ctx.record
    record.model_requested = body.get("model") if isinstance(body.get("model"), str) else ""
    target = provider_of(body.get("model"))
    if target.provider != openai.NAME:
        raise ProxyError(
            400, f"model {target.model!r} has no embeddings endpoint", param="model", code="model_not_found"
        )
    validate_embeddings_body(body)

    def build_request(target, provider_key, _tier):
        return openai.embeddings_request(body, model=target.model, provider_key=provider_key)

    async def forward():
        _, response, started = await send_to_targets(ctx, [target], build_request)
        try:
            if response.status >= 400:
                await pass_error_through(ctx, response, started, openai.error_body)
            parsed = await relay_json(
                ctx, response, started, parse=lambda raw: openai.chat_response(raw, model=target.model)
            )
            return parsed if isinstance(parsed.get("data"), list) else None
        finally:
            response.release()

    cache_plan = through_cache.plan(ctx, body, target, kind="embeddings")
    await through_cache.answer_through_cache(ctx, cache_plan, forward, primary=target)


# POST /v1/messages (Anthropic-native): provider prompt caching → 4. forward, passed through -------


async def anthropic_messages(ctx, body):
    """Pass an Anthropic SDK's request through, accounted, with errors in Anthropic's shape."""
    record = ctx.record
    model = body.get("model")
    record.model_requested = model if isinstance(model, str) else ""
    validate_native_messages_body(body)
    target = provider_of(model)
    if target.provider != anthropic.NAME:
        raise ProxyError(400, f"/v1/messages serves Claude models, not {model!r}", param="model")
    stream = body.get("stream") is True
    record.stream = stream
    primary = Target(anthropic.NAME, target.model)

    async def forward():
        """Send upstream and relay the answer; return the whole Message worth caching, or None."""
        cache_ttl = await anthropic_cache_ttl(ctx, [primary], messages=body.get("messages"), system=body.get("system"))

        def build_request(target, provider_key, _tier):
            return anthropic.native_request(
                body,
                model=target.model,
                provider_key=provider_key,
                client_headers=ctx.headers,
                prompt_cache=ctx.options.provider_prompt_cache,
                cache_ttl=cache_ttl,
            )

        _, response, started = await send_to_targets(ctx, [primary], build_request)
        try:
            if response.status >= 400:
                await pass_error_through(ctx, response, started, lambda status, raw: raw)
            if stream:
                relay = anthropic.NativeStreamRelay()
                await relay_stream(ctx, response, started, relay, prompt_body=body)
                return relay.assembler.message()
            parsed = await relay_json(ctx, response, started, parse=anthropic.native_response)
            return parsed if storable_message(parsed) else None
        finally:
            response.release()

    # 3. Look up, and 4. forward on a miss: the same cache as chat completions, in Anthropic's shape.
    cache_plan = through_cache.plan(ctx, body, primary, kind="messages")
    await through_cache.answer_through_cache(ctx, cache_plan, forward, primary=primary, stream=stream)


# POST /v1/responses (OpenAI Responses API): 3. look up → 4. forward, passed through ------------


async def responses(ctx, body):
    """Pass a Responses API request through to OpenAI, through the cache, accounted like chat."""
    record = ctx.record
    model = body.get("model")
    record.model_requested = model if isinstance(model, str) else ""
    validate_responses_body(body)
    target = provider_of(model)
    if target.provider != openai.NAME:
        raise ProxyError(
            400,
            f"/v1/responses serves OpenAI models; send {model!r} to /v1/chat/completions, which translates Claude",
            param="model",
            code="model_not_supported",
        )
    stream = body.get("stream") is True
    record.stream = stream

    def build_request(target, provider_key, _tier):
        return openai_responses.responses_request(body, model=target.model, provider_key=provider_key)

    async def forward():
        """Send upstream and relay the answer; return the whole response worth caching, or None."""
        _, response, started = await send_to_targets(ctx, [target], build_request)
        try:
            if response.status >= 400:
                await pass_error_through(ctx, response, started, openai.error_body)
            if stream:
                relay = openai_responses.StreamRelay()
                await relay_stream(ctx, response, started, relay, prompt_body=body)
                final = relay.final_response
            else:
                final = await relay_json(ctx, response, started, parse=openai_responses.response_parts)
            return final if storable_response(final) else None
        finally:
            response.release()

    cache_plan = through_cache.plan(ctx, body, target, kind="responses")
    await through_cache.answer_through_cache(ctx, cache_plan, forward, primary=target, stream=stream)


# POST /v1/messages/count_tokens (Anthropic-native): passed through, free, nothing to cache -------


async def anthropic_count_tokens(ctx, body):
    """Count a Messages request's input tokens at Anthropic; errors in Anthropic's shape."""
    model = body.get("model")
    ctx.record.model_requested = model if isinstance(model, str) else ""
    target = provider_of(model)
    if target.provider != anthropic.NAME:
        raise ProxyError(400, f"/v1/messages/count_tokens counts for Claude models, not {model!r}", param="model")

    def build_request(target, provider_key, _tier):
        return anthropic.count_tokens_request(
            body, model=target.model, provider_key=provider_key, client_headers=ctx.headers
        )

    target, response, started = await send_to_targets(ctx, [Target(anthropic.NAME, target.model)], build_request)
    try:
        if response.status >= 400:
            await pass_error_through(ctx, response, started, lambda status, raw: raw)
        await relay_json(ctx, response, started, parse=anthropic.count_tokens_response)
    finally:
        response.release()


# GET /v1/models ----------------------------------------------------------------------------------


async def models(ctx, _body):
    """List the priced models, the auto router and the workspace's aliases, in OpenAI's shape."""
    prices = await ctx.runtime.prices.all()
    names = sorted({model for (_, model) in prices})
    names.append(AUTO_MODEL)
    names.extend(sorted((ctx.key_record.settings.model_aliases or {}).keys()))
    data = [{"id": name, "object": "model", "created": 0, "owned_by": _owner(name)} for name in names]
    ctx.record.status_code = 200
    await ctx.responder.json(200, orjson.dumps({"object": "list", "data": data}), ctx.optera_headers())


def _owner(name):
    try:
        return provider_of(name).provider
    except ProxyError:
        return "optera"


ENDPOINTS = {
    ("POST", "/v1/chat/completions"): Endpoint("chat.completions", chat_completions, True, False),
    ("POST", "/v1/embeddings"): Endpoint("embeddings", embeddings, True, False),
    ("POST", "/v1/responses"): Endpoint("responses", responses, True, False),
    ("POST", "/v1/messages"): Endpoint("messages", anthropic_messages, True, True),
    ("POST", "/v1/messages/count_tokens"): Endpoint("messages.count_tokens", anthropic_count_tokens, True, True),
    ("GET", "/v1/models"): Endpoint("models", models, False, False),
}
