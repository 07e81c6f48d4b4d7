"""The side-by-side table and the latency chart of bench/vs_litellm.py."""

from pathlib import Path

CHART = Path(__file__).resolve().parent.parent / "docs" / "latency_vs_concurrency.png"
STREAM_LEVELS = (100, 300, 500, 1000)


def fmt(value, unit="", digits=2):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if value != value:  # nan
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b and a == a and b == b:
        return f"{a / b:.2f}"
    return "—"


def table(results):
    direct, optera, litellm = results["direct"], results["Optera"], results["LiteLLM"]
    rows = []

    def added(row, key):
        if key in row and key in direct:
            return row[key] - direct[key]
        return None

    for concurrency in (1, 8, 32):
        for stat in ("p50", "p99"):
            key = f"c{concurrency}_{stat}"
            a, b = added(optera, key), added(litellm, key)
            rows.append(
                (
                    f"latency c={concurrency} {stat} (ms; proxies: added over direct)",
                    fmt(direct.get(key)),
                    fmt(a),
                    fmt(b),
                    ratio(a, b),
                )
            )
    for concurrency in (1, 8, 32):
        key = f"c{concurrency}_rps"
        rows.append(
            (
                f"throughput c={concurrency} (req/s)",
                fmt(direct.get(key), digits=0),
                fmt(optera.get(key), digits=0),
                fmt(litellm.get(key), digits=0),
                ratio(optera.get(key), litellm.get(key)),
            )
        )
    errs = [
        f"{r.get('c1_errors', 0) + r.get('c8_errors', 0) + r.get('c32_errors', 0)}" for r in (direct, optera, litellm)
    ]
    rows.append(("request errors (all latency rounds)", *errs, "—"))
    rows.append(
        (
            "proxy CPU s per 1,000 requests at c=32 (process tree)",
            "—",
            fmt(optera.get("cpu_s_per_1000"), digits=3),
            fmt(litellm.get("cpu_s_per_1000"), digits=3),
            ratio(optera.get("cpu_s_per_1000"), litellm.get("cpu_s_per_1000")),
        )
    )
    with_pg = None
    if "cpu_s_per_1000" in optera and "pg_cpu_s_per_1000" in optera:
        with_pg = optera["cpu_s_per_1000"] + optera["pg_cpu_s_per_1000"]
    rows.append(
        (
            "  … Optera incl. its embedded PostgreSQL",
            "—",
            fmt(with_pg, digits=3),
            "(no DB)",
            ratio(with_pg, litellm.get("cpu_s_per_1000")),
        )
    )
    for stat in ("p50", "p99"):
        key = f"first_byte_{stat}"
        a, b = added(optera, key), added(litellm, key)
        rows.append(
            (f"stream first byte {stat} (ms; proxies: added)", fmt(direct.get(key)), fmt(a), fmt(b), ratio(a, b))
        )
    for level in STREAM_LEVELS:
        key = f"streams_{level}"
        rows.append(
            (f"{level} concurrent 30 s streams OK", "—", optera.get(key, "not run"), litellm.get(key, "not run"), "—")
        )
    rows.append(
        (
            "exact-cache hit p50 (ms end to end, c=1)",
            "—",
            fmt(optera.get("hit_p50")),
            fmt(litellm.get("hit_p50")),
            ratio(optera.get("hit_p50"), litellm.get("hit_p50")),
        )
    )
    rows.append(
        (
            "exact-cache hit p99 (ms end to end, c=1)",
            "—",
            fmt(optera.get("hit_p99")),
            fmt(litellm.get("hit_p99")),
            ratio(optera.get("hit_p99"), litellm.get("hit_p99")),
        )
    )
    rows.append(
        (
            "exact-cache hit throughput c=32 (req/s)",
            "—",
            fmt(optera.get("hit_rps"), digits=0),
            fmt(litellm.get("hit_rps"), digits=0),
            ratio(optera.get("hit_rps"), litellm.get("hit_rps")),
        )
    )
    rows.append(
        (
            "peak RSS per worker (MB, VmHWM)",
            fmt(direct.get("rss_mb"), digits=0),
            fmt(optera.get("rss_mb"), digits=0),
            fmt(litellm.get("rss_mb"), digits=0),
            ratio(optera.get("rss_mb"), litellm.get("rss_mb")),
        )
    )
    lines = ["| metric | direct fake | Optera | LiteLLM | Optera ÷ LiteLLM |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(str(cell) for cell in row)} |" for row in rows]
    return "\n".join(lines)


def chart(results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    direct = results["direct"]
    figure, axis = plt.subplots(figsize=(7, 4.5))
    levels = (1, 8, 32)
    for name, style in (("Optera", "o-"), ("LiteLLM", "s-")):
        for stat, dash in (("p50", "-"), ("p99", "--")):
            values = [
                results[name].get(f"c{c}_{stat}", float("nan")) - direct.get(f"c{c}_{stat}", float("nan"))
                for c in levels
            ]
            axis.plot(levels, values, style[0] + dash, label=f"{name} {stat}")
    axis.set_xscale("log", base=2)
    axis.set_xticks(levels, [str(c) for c in levels])
    axis.set_yscale("log")
    axis.set_xlabel("concurrency")
    axis.set_ylabel("added latency over direct fake (ms, log)")
    axis.set_title("Added latency vs concurrency (non-stream chat completions)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(CHART, dpi=120)
    plt.close(figure)
