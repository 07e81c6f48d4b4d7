"""A wall clock a benchmark can move forward from outside the Optera process it measures.

Optera measures the gaps between a conversation's turns with `ProxyRuntime.clock`, which the
OPTERA_CLOCK setting names. bench/workload.py starts Optera with

    OPTERA_CLOCK=bench.offset_clock.now  OPTERA_BENCH_CLOCK_FILE=var/bench-clock-offset

and writes a number of seconds into that file between turns, so twenty-minute gaps take no time.
Only benchmarks name this clock: the proxy itself knows nothing of files or offsets. The offset is
read on every call (a small file, a few requests a second), so the module keeps no state.
"""

import os
import time
from pathlib import Path

OFFSET_FILE_VARIABLE = "OPTERA_BENCH_CLOCK_FILE"


def now():
    """Return seconds since the epoch plus the offset the benchmark last wrote (0 without one)."""
    try:
        offset = float(Path(os.environ[OFFSET_FILE_VARIABLE]).read_text() or 0)
    except (KeyError, FileNotFoundError):
        offset = 0.0
    return time.time() + offset


def write_offset(path, seconds):
    """Set the offset every Optera process started with this clock reads from `path`."""
    temporary = Path(f"{path}.tmp")
    temporary.write_text(f"{seconds}")
    temporary.replace(path)  # atomic: a reader never sees a half-written number
