"""What the proxy itself relies on in a request body; the provider validates the rest."""

from django.conf import settings

from proxy.errors import ProxyError


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


def validate_native_messages_body(body):
    """Check an Anthropic-native Messages body as far as the proxy reads it."""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ProxyError(400, "'messages' must be a non-empty array", param="messages")
    if not all(isinstance(message, dict) for message in body["messages"]):
        raise ProxyError(400, "each of 'messages' must be an object", param="messages")
    # Whether to relay a stream or a whole answer is decided by it: a non-boolean would be read
    # one way here and another way by the provider.
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ProxyError(400, "'stream' must be a boolean", param="stream")


def validate_embeddings_body(body):
    """Check what keys the cache entry and prices an embedding: the input, its dimensions and encoding."""
    if "input" not in body:
        raise ProxyError(400, "'input' is required", param="input")
    if not _embeddable(body["input"]):
        raise ProxyError(
            400, "'input' must be a string, an array of strings, or token arrays (of integers)", param="input"
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
        raise ProxyError(400, "'dimensions' must be a positive integer", param="dimensions")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise ProxyError(400, "'encoding_format' must be 'float' or 'base64'", param="encoding_format")


def validate_responses_body(body):
    """Check a Responses API body as far as the proxy reads it (OpenAI checks the rest)."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ProxyError(400, "'model' must be a model name", param="model")
    turns = body.get("input")
    if not isinstance(turns, str | list) or not turns:
        raise ProxyError(400, "'input' must be a non-empty string or array of input items", param="input")
    if isinstance(turns, list) and not all(isinstance(item, dict) for item in turns):
        raise ProxyError(400, "each item of 'input' must be an object", param="input")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ProxyError(400, "'stream' must be true or false", param="stream")


def _embeddable(value):
    """A string, a token array, or a non-empty array of strings or of token arrays (OpenAI's forms)."""
    if isinstance(value, str):
        return True
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(token, int) and not isinstance(token, bool) for token in value):
        return True
    return all(
        isinstance(item, str)
        or (isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item))
        for item in value
    )
