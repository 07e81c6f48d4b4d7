"""What a request may do, decided once at admission from its X-Optera-* headers and its workspace.

A header can only narrow what the workspace allows: a cache mode lower, a TTL shorter, a
similarity threshold higher, routing or compression off. The tier is a choice, not a permission:
X-Optera-Tier replaces the key's or workspace's default either way. A malformed header is the client's 400.
"""

import math
from dataclasses import dataclass

from accounts.models import CacheMode, ServiceTier
from proxy.errors import ProxyError

MODE_ORDER = {CacheMode.OFF: 0, CacheMode.EXACT: 1, CacheMode.SEMANTIC: 2}


@dataclass(frozen=True)
class RequestOptions:
    cache_mode: str
    cache_ttl_seconds: int
    similarity_threshold: float
    routing: bool
    compression: bool
    summaries: bool
    repeated_code: bool
    provider_prompt_cache: bool
    tier: str

    @classmethod
    def from_request(cls, headers, workspace_settings, *, default_tier):
        """Return the options of a request with these headers (lower-case names) in this workspace.

        `default_tier` is the key's tier, or the workspace's when the key has none.
        """
        shaping_allowed = not _is_off(headers.get("x-optera-compress"))
        return cls(
            cache_mode=effective_mode(workspace_settings.cache_mode, headers.get("x-optera-cache")),
            cache_ttl_seconds=effective_ttl(workspace_settings.cache_ttl_seconds, headers.get("x-optera-cache-ttl")),
            similarity_threshold=effective_threshold(
                workspace_settings.semantic_threshold, headers.get("x-optera-similarity-threshold")
            ),
            routing=workspace_settings.routing_enabled and not _is_off(headers.get("x-optera-route")),
            compression=workspace_settings.compression_enabled and shaping_allowed,
            summaries=workspace_settings.summaries_enabled and shaping_allowed,
            repeated_code=workspace_settings.repeated_code_enabled and shaping_allowed,
            provider_prompt_cache=workspace_settings.provider_prompt_cache,
            tier=effective_tier(default_tier, headers.get("x-optera-tier")),
        )


def _is_off(header):
    return (header or "").strip().lower() == "off"


def effective_mode(workspace_mode, header):
    """A request may narrow its workspace's cache mode (off < exact < semantic), never widen it."""
    if not header:
        return workspace_mode
    requested = header.strip().lower()
    if requested not in MODE_ORDER:
        raise ProxyError(400, "X-Optera-Cache must be off, exact or semantic", param="X-Optera-Cache")
    return requested if MODE_ORDER[requested] < MODE_ORDER[workspace_mode] else workspace_mode


def _header_number(header, convert, name, description):
    """Parse a numeric request header, answering 400 (never 500) for anything else."""
    try:
        value = convert(header)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise ProxyError(400, f"{name} must be {description}", param=name)
    return value


def effective_ttl(workspace_ttl, header):
    """A request may shorten the workspace's TTL with X-Optera-Cache-TTL, never lengthen it."""
    if not header:
        return workspace_ttl
    seconds = _header_number(header, int, "X-Optera-Cache-TTL", "a whole number of seconds")
    if seconds < 1:
        raise ProxyError(400, "X-Optera-Cache-TTL must be at least 1", param="X-Optera-Cache-TTL")
    return min(seconds, workspace_ttl)


def effective_threshold(workspace_threshold, header):
    """A request may raise the similarity a semantic hit needs, never lower it."""
    if not header:
        return workspace_threshold
    requested = _header_number(header, float, "X-Optera-Similarity-Threshold", "a number")
    return min(max(requested, workspace_threshold), 1.0)


def effective_tier(default_tier, header):
    """X-Optera-Tier (flex or standard) replaces the key's or workspace's default tier."""
    if not header:
        return default_tier
    requested = header.strip().lower()
    if requested not in ServiceTier.values:
        raise ProxyError(400, "X-Optera-Tier must be flex or standard", param="X-Optera-Tier")
    return requested
