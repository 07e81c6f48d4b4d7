"""The smaller endpoints: embeddings, models and Anthropic-native messages."""

import orjson

from proxy.errors import ProxyError
from proxy.pipeline import caching
from proxy.pipeline.forward import pass_error_through, relay_json, relay_stream, send_to_targets
from proxy.providers import anthropic, openai
from proxy.routing import AUTO_MODEL, Target, provider_of


async def embeddings(ctx, body):
    record = ctx.record
    record.model_requested = body.get("model") if isinstance(body.get("model"), str) else ""
    target = provider_of(body.get("model"))
    if target.provider != "openai":
        raise ProxyError(
            400, f"model {target.model!r} has no embeddings endpoint", param="model", code="model_not_found"
        )
    if "input" not in body:
        raise ProxyError(400, "'input' is required", param="input")

    def build_request(target, provider_key):
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

    cache_plan = caching.plan(ctx, body, target, kind="embeddings")
    return await caching.answer_through_cache(ctx, cache_plan, forward, primary=target)


async def models(ctx, prices):
    """List the priced models, the auto router and the workspace's aliases, in OpenAI's shape."""
    names = sorted({model for (_, model) in prices})
    names.append(AUTO_MODEL)
    names.extend(sorted((ctx.key_record.settings.model_aliases or {}).keys()))
    data = [{"id": name, "object": "model", "created": 0, "owned_by": _owner(name)} for name in names]
    ctx.record.status_code = 200
    await ctx.responder.json(200, orjson.dumps({"object": "list", "data": data}), ctx.optera_headers())
    ctx.runtime.logs.add(ctx.record)


def _owner(name):
    try:
        return provider_of(name).provider
    except ProxyError:
        return "optera"


async def anthropic_messages(ctx, body):
    """POST /v1/messages for Anthropic SDK users: passed through, accounted, errors in Anthropic's shape."""
    record = ctx.record
    model = body.get("model")
    record.model_requested = model if isinstance(model, str) else ""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ProxyError(400, "'messages' must be a non-empty array", param="messages")
    if not all(isinstance(message, dict) for message in body["messages"]):
        raise ProxyError(400, "each of 'messages' must be an object", param="messages")
    target = provider_of(model)
    if target.provider != "anthropic":
        raise ProxyError(400, f"/v1/messages serves Claude models, not {model!r}", param="model")
    stream = body.get("stream") is True
    record.stream = stream

    def build_request(target, provider_key):
        return anthropic.native_request(
            body,
            model=target.model,
            provider_key=provider_key,
            client_headers=ctx.headers,
            prompt_cache=ctx.key_record.settings.provider_prompt_cache,
        )

    target, response, started = await send_to_targets(ctx, [Target("anthropic", target.model)], build_request)
    try:
        if response.status >= 400:
            await pass_error_through(ctx, response, started, lambda status, raw: raw)
        if stream:
            return await relay_stream(ctx, response, started, anthropic.NativeStreamRelay(), prompt_body=body)
        return await relay_json(ctx, response, started, parse=_native_response)
    finally:
        response.release()


def _native_response(raw):
    from analytics.pricing import Usage

    parsed = orjson.loads(raw)
    usage = Usage.from_anthropic(parsed.get("usage"))
    openai_usage = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "cache_creation_input_tokens": usage.cache_write_tokens,
    }
    return raw, parsed, openai_usage
