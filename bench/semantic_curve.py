"""Precision and recall of the semantic cache: cosine alone vs cosine + verifier.

Usage: .venv/bin/python bench/semantic_curve.py [--pairs FILE] [--top-k 3]

A pairs file holds JSON lines {"a", "b", "same", "kind"}. Two settings:

- pair: each b is compared with its own a only (the classic pair benchmark);
- nearest: every a is stored, as the cache stores every prompt, and each b
  is looked up among all of them. A hit is served when the nearest a reaches
  the threshold (and, with the verifier, is accepted); it is correct only if
  that a is b's own pair and the pair is labelled same.

Recall is correct / number of same pairs. ``verify`` fingerprints both texts
and compares the fingerprints, so the figures are those of the privacy-
preserving path the cache uses. Runs on one core in a few seconds.
"""

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cachestore.semantic.embedder import LocalEmbedder  # noqa: E402
from cachestore.semantic.typos import with_slips_corrected  # noqa: E402
from cachestore.semantic.verifier import DEFAULT_MIN_COSINE, Sensitivity, verify  # noqa: E402

DEFAULT_PAIRS = "/work/shared/eval/semantic_pairs_dev.jsonl"
COSINE_THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)
VERIFIER_THRESHOLDS = (0.30, 0.40, 0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=DEFAULT_PAIRS)
    parser.add_argument("--top-k", type=int, default=3, help="neighbours the verifier may try")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    same = np.array([bool(row["same"]) for row in rows])
    print(f"{args.pairs}: {len(rows)} pairs, {int(same.sum())} labelled same\n")

    embedder = LocalEmbedder()
    embedder.embed(["warm up"])
    stored = embedder.embed([row["a"] for row in rows])
    started = time.perf_counter()
    queries = np.stack([embedder.embed_one(row["b"]) for row in rows])
    per_query_ms = (time.perf_counter() - started) * 1000 / len(rows)
    started = time.perf_counter()
    embedder.embed([row["b"] for row in rows])
    batched_ms = (time.perf_counter() - started) * 1000 / len(rows)

    pair_cosine = (stored * queries).sum(axis=1)
    similarity = queries @ stored.T
    ranked = np.argsort(-similarity, axis=1)[:, : args.top_k]
    own = np.arange(len(rows))

    print("Cosine alone")
    _header()
    for threshold in COSINE_THRESHOLDS:
        pair_served = pair_cosine >= threshold
        nearest_served = similarity[own, ranked[:, 0]] >= threshold
        nearest_correct = nearest_served & (ranked[:, 0] == own) & same
        _row(threshold, same, (pair_served, pair_served & same), (nearest_served, nearest_correct))

    # The cache embeds the text with unambiguous slips corrected; cosine alone above is the model's.
    stored = embedder.embed([with_slips_corrected(row["a"]) for row in rows])
    queries = embedder.embed([with_slips_corrected(row["b"]) for row in rows])
    pair_cosine = (stored * queries).sum(axis=1)
    similarity = queries @ stored.T
    ranked = np.argsort(-similarity, axis=1)[:, : args.top_k]

    print(f"\nCosine + verifier (nearest: top-1, and the first accepted of the top {args.top_k})")
    _header(extra=f"top-{args.top_k}")
    started = time.perf_counter()
    checks = 0
    outcomes = {}
    for threshold in sorted({*VERIFIER_THRESHOLDS, DEFAULT_MIN_COSINE}):
        sensitivity = Sensitivity(min_cosine=threshold)
        pair = np.array(
            [
                verify(row["b"], row["a"], float(c), sensitivity=sensitivity).accepted
                for row, c in zip(rows, pair_cosine)
            ]
        )
        top1 = np.zeros(len(rows), dtype=bool)
        topk = np.full(len(rows), -1)
        for index, row in enumerate(rows):
            for rank, neighbour in enumerate(ranked[index]):
                cosine = float(similarity[index, neighbour])
                checks += 1
                if verify(row["b"], rows[neighbour]["a"], cosine, sensitivity=sensitivity).accepted:
                    top1[index] = rank == 0
                    topk[index] = neighbour
                    break
        top1_served = top1
        top1_correct = top1 & (ranked[:, 0] == own) & same
        topk_served = topk >= 0
        topk_correct = topk_served & (topk == own) & same
        outcomes[threshold] = (topk_served, topk_correct, top1_served, top1_correct)
        _row(threshold, same, (pair, pair & same), (top1_served, top1_correct), (topk_served, topk_correct))
    verify_us = (time.perf_counter() - started) * 1e6 / checks

    recommended = DEFAULT_MIN_COSINE
    print(f"\nPer kind at the recommended setting (cosine >= {recommended:.2f} + verifier, nearest top-1)")
    _, _, served, correct = outcomes[recommended]
    _per_kind(rows, same, served, correct, matched=ranked[:, 0])
    print("\nTwo folds (odd and even lines) at the recommended setting, nearest top-1:")
    for fold in (0, 1):
        mask = own % 2 == fold
        fold_served, fold_correct = served & mask, correct & mask
        print(
            f"  fold {fold}: served {fold_served.sum():3d} correct {fold_correct.sum():3d} "
            f"precision {_ratio(fold_correct.sum(), fold_served.sum())} "
            f"recall {_ratio(fold_correct.sum(), (same & mask).sum())}"
        )

    print(
        f"\nEmbedding: {per_query_ms:.1f} ms/query one at a time, {batched_ms:.1f} ms/text batched "
        f"(1 thread); verifier: {verify_us:.0f} us/pair (two fingerprints and their comparison)"
    )


def _header(extra: str = "") -> None:
    columns = ["pair", "nearest"] + ([extra] if extra else [])
    print("thresh | " + " | ".join(f"{name:^30}" for name in columns))
    print("       | " + " | ".join(f"{'served':>6} {'correct':>7} {'prec':>6} {'recall':>6}" for _ in columns))


def _row(threshold: float, same: np.ndarray, *settings: tuple[np.ndarray, np.ndarray]) -> None:
    cells = [
        f"{served.sum():6d} {correct.sum():7d} {_ratio(correct.sum(), served.sum()):>6} "
        f"{_ratio(correct.sum(), same.sum()):>6}"
        for served, correct in settings
    ]
    print(f"  {threshold:.2f} | " + " | ".join(cells))


def _per_kind(
    rows: list[dict], same: np.ndarray, served: np.ndarray, correct: np.ndarray, *, matched: np.ndarray
) -> None:
    counts = collections.defaultdict(lambda: collections.Counter())
    for index, row in enumerate(rows):
        tally = counts[row["kind"]]
        tally["pairs"] += 1
        tally["served"] += int(served[index])
        tally["wrong"] += int(served[index] and not correct[index])
        tally["missed"] += int(same[index] and not correct[index])
    print(f"  {'kind':<24} {'pairs':>5} {'served':>6} {'wrong':>5} {'missed':>6}")
    for kind, tally in sorted(counts.items()):
        print(f"  {kind:<24} {tally['pairs']:5d} {tally['served']:6d} {tally['wrong']:5d} {tally['missed']:6d}")
    for index in np.flatnonzero(served & ~correct):
        print(f"  wrong hit ({rows[index]['kind']}): {rows[index]['b']!r} served {rows[matched[index]]['a']!r}")


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.3f}" if denominator else "  -  "


if __name__ == "__main__":
    main()
