"""Run the fake provider standalone: `python -m tests.fakeprovider --port 9999`."""

import argparse

from .server import FakeProvider


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeprovider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="pause between stream chunks")
    parser.add_argument("--filler-words", type=int, default=0, help="words appended to every text answer")
    parser.add_argument("--anthropic-cache-min-tokens", type=int, default=1024)
    parser.add_argument("--openai-cache-min-tokens", type=int, default=1024)
    parser.add_argument(
        "--record",
        action="store_true",
        help="keep every request and usage in memory (off by default so long benchmarks stay flat)",
    )
    parser.add_argument("--asyncio-loop", action="store_true", help="use the stock asyncio loop, not uvloop")
    arguments = parser.parse_args()
    provider = FakeProvider(
        host=arguments.host,
        port=arguments.port,
        chunk_delay=arguments.chunk_delay_ms / 1000,
        filler_words=arguments.filler_words,
        anthropic_cache_min_tokens=arguments.anthropic_cache_min_tokens,
        openai_cache_min_tokens=arguments.openai_cache_min_tokens,
        record_requests=arguments.record,
    )
    provider.serve_forever(fast_loop=not arguments.asyncio_loop)


if __name__ == "__main__":
    main()
