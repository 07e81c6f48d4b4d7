"""Measure the optera/auto classifier on a labelled jsonl file of prompts.

    .venv/bin/python bench/routing_eval.py [FILE.jsonl] [--cv K] [--transfer OTHER.jsonl]

Each line holds {"id", "prompt", "tier": "small" | "large"}. Prints the share of large prompts
kept on the strong tier, the share of small prompts sent to the cheap tier, the confusion matrix,
the misrouted prompts with their reasons, and the p50/p99 time per classification (also on
synthetic 50k-character prompts). With --cv K, also compares the shipped hand weights with a
logistic regression over the same features, fitted by K-fold cross-validation, to estimate how
much either would gain or lose on prompts it has not seen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy.shape.routing_classifier import (  # noqa: E402
    BIAS,
    CUES,
    LARGE,
    SCALED,
    SMALL,
    classify,
    extract_features,
    weight_of,
)

DEFAULT_FILE = Path("/work/shared/eval/routing_dev.jsonl")
FEATURE_NAMES = list(CUES) + list(SCALED)


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def as_messages(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]


def rates(truth: list[str], predicted: list[str]) -> tuple[float, float]:
    """Return (large kept on strong, small sent to cheap) as fractions."""
    large = [p for t, p in zip(truth, predicted) if t == LARGE]
    small = [p for t, p in zip(truth, predicted) if t == SMALL]
    kept = sum(p == LARGE for p in large) / max(1, len(large))
    saved = sum(p == SMALL for p in small) / max(1, len(small))
    return kept, saved


def report(rows: list[dict]) -> None:
    decisions = [classify(as_messages(row["prompt"])) for row in rows]
    truth = [row["tier"] for row in rows]
    predicted = [decision.tier for decision in decisions]
    kept, saved = rates(truth, predicted)
    print(f"prompts: {len(rows)} ({truth.count(LARGE)} large, {truth.count(SMALL)} small)")
    print(f"large -> strong: {kept:.1%}")
    print(f"small -> cheap:  {saved:.1%}")
    print("\nconfusion (rows: label, columns: routed)")
    print(f"{'':>8} {'small':>7} {'large':>7}")
    for label in (SMALL, LARGE):
        counts = [sum(t == label and p == routed for t, p in zip(truth, predicted)) for routed in (SMALL, LARGE)]
        print(f"{label:>8} {counts[0]:>7} {counts[1]:>7}")
    misrouted = [(row, d) for row, d in zip(rows, decisions) if d.tier != row["tier"]]
    print(f"\nmisrouted: {len(misrouted)}")
    for row, decision in misrouted:
        prompt = " ".join(row["prompt"].split())
        print(
            f"  {row.get('id', '?')} [{row['tier']}] score={decision.score:+.2f} "
            f"{decision.reason}\n      {prompt[:150]}"
        )


def timing(rows: list[dict]) -> None:
    long_prompts = [
        ("Summarise this log.\n\n" + "2024-01-01 INFO request served in 12 ms\n" * 1300)[:50_000],
        ("Why does this fail?\n\n```python\n" + "value = compute(x) + 1\n" * 2300 + "```")[:50_000],
        "word " * 10_000,
    ]
    cases = [as_messages(row["prompt"]) for row in rows]
    cases += [as_messages(prompt) for prompt in long_prompts]
    for _ in range(3):  # warm up regex caches
        for messages in cases:
            classify(messages)
    samples, long_samples = [], []
    for _ in range(5):
        for messages in cases:
            start = time.perf_counter()
            classify(messages)
            elapsed = (time.perf_counter() - start) * 1000
            is_long = len(messages[0]["content"]) >= 40_000
            (long_samples if is_long else samples).append(elapsed)
    samples.sort()
    long_samples.sort()
    print(
        f"\ntime per classification: p50 {statistics.median(samples):.3f} ms, "
        f"p99 {samples[int(len(samples) * 0.99) - 1]:.3f} ms, max {samples[-1]:.3f} ms "
        f"({len(samples)} calls)"
    )
    print(
        f"50k-character prompts:   p50 {statistics.median(long_samples):.3f} ms, "
        f"max {long_samples[-1]:.3f} ms ({len(long_samples)} calls)"
    )


def feature_matrix(rows: list[dict]) -> np.ndarray:
    matrix = np.zeros((len(rows), len(FEATURE_NAMES)))
    for i, row in enumerate(rows):
        features = extract_features(as_messages(row["prompt"]))
        for j, name in enumerate(FEATURE_NAMES):
            matrix[i, j] = features.get(name, 0.0)
    return matrix


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Return weights and intercept of an L2-regularised logistic regression (Newton steps)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty * beta
        hessian = (design.T * (p * (1 - p))) @ design + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return beta[:-1], float(beta[-1])


def shifted_for_recall(weights: np.ndarray, intercept: float, x: np.ndarray, y: np.ndarray) -> float:
    """Return the intercept moved down until >= 95% of the large rows of (x, y) score >= 0."""
    scores = x[y == 1] @ weights + intercept
    cut = np.quantile(scores, 0.05) - 1e-6
    return intercept - min(cut, 0.0)


def cross_validate(rows: list[dict], folds: int, seed: int) -> None:
    x = feature_matrix(rows)
    y = np.array([row["tier"] == LARGE for row in rows], dtype=float)
    hand = np.array([weight_of(name) for name in FEATURE_NAMES])
    rng = np.random.default_rng(seed)
    # Stratified folds so each holds both tiers in the dev proportions.
    fold_of = np.zeros(len(rows), dtype=int)
    for label in (0.0, 1.0):
        members = rng.permutation(np.flatnonzero(y == label))
        fold_of[members] = np.arange(len(members)) % folds
    print(
        f"\n{folds}-fold cross-validation over {len(FEATURE_NAMES)} features "
        f"(threshold fitted on each training split to keep >= 95% of its large prompts)"
    )
    hand_scores = x @ hand + BIAS
    print(
        f"  hand weights (nothing fitted):  large->strong {np.mean(hand_scores[y == 1] >= 0):.1%}"
        f"  small->cheap {np.mean(hand_scores[y == 0] < 0):.1%}"
    )
    for l2 in (0.3, 1.0, 3.0):
        held_scores = np.zeros(len(rows))
        for fold in range(folds):
            train, test = fold_of != fold, fold_of == fold
            weights, intercept = fit_logistic(x[train], y[train], l2)
            intercept = shifted_for_recall(weights, intercept, x[train], y[train])
            held_scores[test] = x[test] @ weights + intercept
        print(
            f"  logistic regression l2={l2:<4}:  large->strong "
            f"{np.mean(held_scores[y == 1] >= 0):.1%}  small->cheap "
            f"{np.mean(held_scores[y == 0] < 0):.1%}"
        )
    weights, intercept = fit_logistic(x, y, 1.0)
    print("  weights fitted on all rows (l2=1.0) next to the hand weights:")
    for name, fitted, chosen in sorted(zip(FEATURE_NAMES, weights, hand), key=lambda t: -abs(t[1])):
        print(f"    {name:<18} fitted {fitted:+.2f}  hand {chosen:+.2f}")
    print(f"    {'intercept':<18} fitted {intercept:+.2f}  hand {BIAS:+.2f}")


def transfer(rows: list[dict], other: list[dict]) -> None:
    """Fit the logistic regression on rows, then score both models on the other file."""
    x, y = feature_matrix(rows), np.array([row["tier"] == LARGE for row in rows], dtype=float)
    x_other = feature_matrix(other)
    y_other = np.array([row["tier"] == LARGE for row in other], dtype=float)
    hand = np.array([weight_of(name) for name in FEATURE_NAMES])
    print(f"\nfitted on this file, scored on the other file ({len(other)} prompts)")
    hand_scores = x_other @ hand + BIAS
    print(
        f"  hand weights:                   large->strong {np.mean(hand_scores[y_other == 1] >= 0):.1%}"
        f"  small->cheap {np.mean(hand_scores[y_other == 0] < 0):.1%}"
    )
    for l2 in (0.3, 1.0, 3.0):
        weights, intercept = fit_logistic(x, y, l2)
        intercept = shifted_for_recall(weights, intercept, x, y)
        scores = x_other @ weights + intercept
        print(
            f"  logistic regression l2={l2:<4}:  large->strong {np.mean(scores[y_other == 1] >= 0):.1%}"
            f"  small->cheap {np.mean(scores[y_other == 0] < 0):.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="run K-fold cross-validation")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--transfer",
        type=Path,
        metavar="OTHER.jsonl",
        help="fit on FILE and compare hand weights and regression on OTHER",
    )
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    rows = load(args.file)
    report(rows)
    if not args.no_timing:
        timing(rows)
    if args.cv:
        cross_validate(rows, args.cv, args.seed)
    if args.transfer:
        transfer(rows, load(args.transfer))


if __name__ == "__main__":
    main()
