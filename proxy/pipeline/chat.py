"""POST /v1/chat/completions: route, look up the cache, forward (retries, fallbacks), relay, account, store."""

import time

from django.conf import settings

from cachestore import keys
from proxy.errors import ProxyError
from proxy.messages import leading_system_count
from proxy.pipeline import caching
from proxy.pipeline.forward import pass_error_through, relay_json, relay_stream, send_to_targets
from proxy.prompt_cache import openai_cache_hints
from proxy.providers import anthropic, openai
from proxy.replay import completion_from_stream
from proxy.routing import route

PROVIDERS = {"openai": openai, "anthropic": anthropic}


def validate_chat_body(body):
    """Check what the proxy itself relies on; the provider validates the rest."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ProxyError(400, "'messages' must be a non-empty array", param="messages")
    if len(messages) > settings.OPTERA_MAX_MESSAGES:
        raise ProxyError(400, f"too many messages: {len(messages)} > {settings.OPTERA_MAX_MESSAGES}", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ProxyError(400, f"messages[{index}] must be an object with a 'role'", param=f"messages[{index}]")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ProxyError(400, "'stream' must be a boolean", param="stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise ProxyError(400, "'stream_options' must be an object", param="stream_options")


async def chat_completions(ctx, body):
    validate_chat_body(body)
    record = ctx.record
    stream = body.get("stream") is True
    include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
    record.stream = stream
    record.model_requested = body.get("model") if isinstance(body.get("model"), str) else ""
    routing_allowed = ctx.headers.get("x-optera-route", "").strip().lower() != "off"
    chosen_route = route(body, ctx.key_record.settings, routing_allowed=routing_allowed)
    targets = chosen_route.targets
    primary = targets[0]
    record.route_reason = chosen_route.reason
    record.route_baseline = chosen_route.baseline

    async def forward():
        upstream_body = await _shape(ctx, body, primary)
        return await _forward(ctx, upstream_body, targets, stream=stream, include_usage=include_usage)

    cache_plan = caching.plan(ctx, body, primary, kind="chat")
    await caching.answer_through_cache(
        ctx, cache_plan, forward, primary=primary, stream=stream, include_usage=include_usage
    )


async def _shape(ctx, body, primary):
    """Return the body to send upstream: stored summaries in place of older turns, compressed system prompts.

    The cache keys and the summary hashes stay on the client's own messages, so shaping never
    changes what is a hit or which summary applies.
    """
    original = body.get("messages")
    messages = await ctx.runtime.summaries.apply(ctx, body, primary)
    messages = await ctx.runtime.compressor.apply(
        ctx, messages, system_count=leading_system_count(original), target=primary
    )
    if messages is original:
        return body
    return {**body, "messages": messages}


async def _forward(ctx, body, targets, *, stream, include_usage):
    """Send upstream and relay the answer; return the complete chat.completion worth caching, or None."""

    prompt_cache = ctx.key_record.settings.provider_prompt_cache

    def build_request(target, provider_key):
        if target.provider == "anthropic":
            return anthropic.chat_request(
                body, model=target.model, provider_key=provider_key, stream=stream, prompt_cache=prompt_cache
            )
        hinted = body
        if prompt_cache:
            hinted = openai_cache_hints(
                body, workspace_id=ctx.key_record.workspace_id, system_prompt_hash=system_prompt_hash(ctx, body)
            )
        return openai.chat_request(hinted, model=target.model, provider_key=provider_key, stream=stream)

    target, response, started = await send_to_targets(ctx, targets, build_request)
    provider = PROVIDERS[target.provider]
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


def system_prompt_hash(ctx, body):
    """Key the system prompt with the workspace's secret, so the hint says nothing about its text."""
    system = [
        message.get("content")
        for message in body.get("messages") or ()
        if message.get("role") in ("system", "developer")
    ]
    return keys.prompt_hash(secret=ctx.key_record.cache_secret, body={"messages": system})


def _is_complete(completion):
    choices = completion.get("choices") if isinstance(completion, dict) else None
    return bool(choices) and all(choice.get("finish_reason") in ("stop", "tool_calls", "length") for choice in choices)
