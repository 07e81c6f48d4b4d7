"""How long system-prompt compression takes on a 50,000-character prompt (target: under 20 ms).

    .venv/bin/python bench/compression_speed.py [--runs 30]

The prompt is the compression tests' own (untidy sections and protected regions); the median and
fastest of the runs after one warm-up (which fills the regex caches) are printed.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    import django

    django.setup()
    from cachestore.compression import compress_system_prompt
    from tests.cachestore.test_compression import fifty_kb_prompt

    prompt = fifty_kb_prompt()
    compress_system_prompt(prompt)
    timings = []
    for _ in range(options.runs):
        started = time.perf_counter()
        compress_system_prompt(prompt)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"{len(prompt):,} characters, {options.runs} runs: median {statistics.median(timings):.1f} ms, "
        f"fastest {min(timings):.1f} ms"
    )


if __name__ == "__main__":
    main()
