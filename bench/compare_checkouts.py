"""Compare Optera's own cost in two checkouts side by side: proxy_overhead.py on uvicorn, alternating.

    .venv/bin/python bench/compare_checkouts.py --before /tmp/before --after . [--runs 3]

Each run starts the fake provider and Optera (cache off, one uvicorn worker) from that checkout's
own code and virtualenv and measures added latency at c=1 and CPU per request at c=32 (1,600
requests). Runs alternate (before, after, before, ...) so drift on a shared machine hits both;
the medians and the after/before ratio are printed as a markdown table.
"""

import argparse
import statistics
import subprocess
from pathlib import Path

COLUMNS = ("added_p50_ms", "added_p99_ms", "cpu_ms_per_request")


def run_once(checkout, requests):
    """Return the uvicorn row of proxy_overhead.py in `checkout` as {column: float}."""
    output = subprocess.run(
        [
            str(checkout / ".venv/bin/python"),
            "bench/proxy_overhead.py",
            "--servers",
            "uvicorn",
            "--requests",
            str(requests),
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    row = next(line for line in output.splitlines() if line.startswith("| uvicorn"))
    cells = [cell.strip().removesuffix(" ms") for cell in row.strip("|").split("|")]
    return {"added_p50_ms": float(cells[3]), "added_p99_ms": float(cells[4]), "cpu_ms_per_request": float(cells[8])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path("."))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    options = parser.parse_args()
    checkouts = {"before": options.before.resolve(), "after": options.after.resolve()}
    figures = {name: [] for name in checkouts}
    for run in range(options.runs):
        for name, checkout in checkouts.items():
            figures[name].append(run_once(checkout, options.requests))
            print(f"run {run + 1} {name}: {figures[name][-1]}", flush=True)
    print("\n| figure (median) | before | after | after ÷ before |\n|---|---|---|---|")
    for column in COLUMNS:
        before = statistics.median(row[column] for row in figures["before"])
        after = statistics.median(row[column] for row in figures["after"])
        print(f"| {column} | {before:.3f} | {after:.3f} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
