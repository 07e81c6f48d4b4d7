"""Which provider and model a request goes to: prefixes, aliases, optera/auto and fallbacks."""

from dataclasses import dataclass

from proxy.errors import ProxyError

AUTO_MODEL = "optera/auto"
OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "o5", "chatgpt-", "text-embedding-", "davinci", "babbage", "omni-")
ANTHROPIC_PREFIXES = ("claude-",)
MAX_FALLBACKS = 3


@dataclass(frozen=True)
class Target:
    provider: str
    model: str


MAX_MODEL_NAME = 200


def check_model_name(model):
    """Refuse anything but a printable ASCII name: it goes into headers, logs and upstream URLs' bodies."""
    if not isinstance(model, str) or not model:
        raise ProxyError(400, "'model' is required and must be a string", param="model", code="invalid_model")
    if len(model) > MAX_MODEL_NAME or not model.isascii() or not model.isprintable():
        raise ProxyError(
            400, "'model' must be a printable ASCII name of at most 200 characters", param="model", code="invalid_model"
        )


def provider_of(model):
    """Return the Target for a model name, or raise 400 naming an unknown model."""
    check_model_name(model)
    prefix, separator, rest = model.partition("/")
    if separator and prefix in ("openai", "anthropic") and rest:
        return Target(provider=prefix, model=rest)
    if model.startswith(ANTHROPIC_PREFIXES):
        return Target(provider="anthropic", model=model)
    if model.startswith(OPENAI_PREFIXES):
        return Target(provider="openai", model=model)
    raise ProxyError(
        400,
        f"unknown model {model!r}: use an OpenAI or Anthropic model name, 'openai/...', 'anthropic/...', "
        f"'{AUTO_MODEL}' or one of this workspace's aliases",
        param="model",
        code="model_not_found",
    )


def _alias_of(model, workspace_settings):
    aliases = workspace_settings.model_aliases or {}
    target = aliases.get(model)
    return target if isinstance(target, str) and target else model


@dataclass(frozen=True)
class Route:
    """Where a request goes: targets in order (primary, then fallbacks), and for optera/auto the
    strong-tier target the saving is measured against, with the classifier's reason."""

    targets: list
    baseline: Target | None = None
    reason: str = ""


def route(body, workspace_settings, *, routing):
    """Resolve the request's model into a Route (aliases, optera/auto, fallbacks when `routing` is on)."""
    model = body.get("model")
    check_model_name(model)
    if model == AUTO_MODEL:
        strong = provider_of(workspace_settings.strong_model)
        if not routing:
            return Route(
                targets=targets_for(workspace_settings.strong_model, workspace_settings, routing=False),
                reason="routing off: strong tier",
            )
        from proxy.shape.routing_classifier import SMALL, classify

        decision = classify(body.get("messages") or [], body.get("tools"))
        chosen = workspace_settings.cheap_model if decision.tier == SMALL else workspace_settings.strong_model
        return Route(
            targets=targets_for(chosen, workspace_settings, routing=True),
            baseline=strong,
            reason=decision.reason[:200],
        )
    return Route(targets=targets_for(model, workspace_settings, routing=routing))


def targets_for(model, workspace_settings, *, routing):
    """Return the primary target followed by the workspace's fallbacks for it (aliases and fallbacks need `routing`)."""
    if routing:
        model = _alias_of(model, workspace_settings)
    primary = provider_of(model)
    targets = [primary]
    if routing:
        fallbacks = (workspace_settings.fallbacks or {}).get(model) or (workspace_settings.fallbacks or {}).get(
            primary.model
        )
        if isinstance(fallbacks, str):
            fallbacks = [fallbacks]
        for fallback in (fallbacks or [])[:MAX_FALLBACKS]:
            try:
                targets.append(provider_of(fallback))
            except ProxyError:
                continue  # a bad fallback in the settings must not break the primary path
    return targets
