"""Translate between OpenAI Chat Completions and Anthropic's Messages API, without I/O."""

from .errors import TranslationError, UpstreamStreamError
from .request import chat_request_to_anthropic
from .response import anthropic_response_to_chat, normalise_anthropic_usage
from .stream import AnthropicStreamTranslator

__all__ = [
    "AnthropicStreamTranslator",
    "TranslationError",
    "UpstreamStreamError",
    "anthropic_response_to_chat",
    "chat_request_to_anthropic",
    "normalise_anthropic_usage",
]
