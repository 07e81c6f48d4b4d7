"""Exceptions raised while translating between OpenAI and Anthropic shapes."""


class TranslationError(ValueError):
    """An OpenAI request that cannot be expressed as an Anthropic request.

    `param` names the OpenAI request field at fault (e.g. "messages[2].content")
    so the edge can answer with an OpenAI-shaped 400 that points at it.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class UpstreamStreamError(Exception):
    """An `error` event sent by Anthropic in the middle of a stream.

    `type` is Anthropic's error type (e.g. "overloaded_error"), kept so the
    caller can decide whether the failure is worth retrying.
    """

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.message = message
        self.type = error_type
