"""POST /v1/chat/completions: route, forward (with retries and fallbacks), relay, account."""

from django.conf import settings

from proxy.errors import ProxyError
from proxy.pipeline.forward import pass_error_through, relay_json, relay_stream, send_to_targets
from proxy.providers import anthropic, openai
from proxy.routing import targets_for

PROVIDERS = {"openai": openai, "anthropic": anthropic}


def validate_chat_body(body):
    """Check what the proxy itself relies on; the provider validates the rest."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ProxyError(400, "'messages' must be a non-empty array", param="messages")
    if len(messages) > settings.OPTERA_MAX_MESSAGES:
        raise ProxyError(
            400, f"too many messages: {len(messages)} > {settings.OPTERA_MAX_MESSAGES}", param="messages"
        )
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
    targets = targets_for(body.get("model"), ctx.key_record.settings, routing_allowed=routing_allowed)

    def build_request(target, provider_key):
        return PROVIDERS[target.provider].chat_request(body, model=target.model, provider_key=provider_key, stream=stream)

    target, response, started = await send_to_targets(ctx, targets, build_request)
    provider = PROVIDERS[target.provider]
    try:
        if response.status >= 400:
            await pass_error_through(ctx, response, started, provider.error_body)
        if stream:
            relay = provider.StreamRelay(model=target.model, include_usage=include_usage)
            return await relay_stream(ctx, response, started, relay, prompt_body=body)
        return await relay_json(ctx, response, started, parse=lambda raw: provider.chat_response(raw, model=target.model))
    finally:
        response.release()
