"""The providers behind one seam: each module builds its upstream requests and reads its answers and streams.

See proxy/providers/base.py for what a provider module offers.
"""

from types import MappingProxyType

from proxy.providers import openai
from proxy.providers.anthropic import provider as anthropic

PROVIDERS = MappingProxyType({openai.NAME: openai, anthropic.NAME: anthropic})


def provider_named(name):
    """Return the provider module called `name` ("openai", "anthropic")."""
    return PROVIDERS[name]
