"""Measure the semantic cache on labelled pairs, through the same storage, search and verifier as the proxy."""

import json
import time
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services as account_services
from accounts.keys import workspace_hash_key
from accounts.models import WorkspaceSettings
from cachestore import keys, selectors, services
from cachestore.semantic.embedder import local_embedder
from cachestore.semantic.fingerprint import fingerprint
from cachestore.semantic.matching import best_match
from cachestore.semantic.typos import with_slips_corrected

MODEL = "gpt-4o-mini"


def _request(text):
    return {"model": MODEL, "messages": [{"role": "user", "content": text}]}


class Command(BaseCommand):
    help = (
        "Store every pair's `a` in a fresh workspace, look up each `b`, and print precision and recall. "
        "A hit is correct only if it returns its own pair's answer and the pair is labelled same."
    )

    def add_arguments(self, parser):
        parser.add_argument("pairs", help="JSON lines with a, b, same (and optionally id, kind)")
        parser.add_argument("--threshold", type=float, help="default: a new workspace's semantic_threshold")
        parser.add_argument("--curve", action="store_true", help="also print precision/recall at other thresholds")

    def handle(self, *args, pairs, threshold, curve, **options):
        path = Path(pairs)
        if not path.exists():
            raise CommandError(f"no file {pairs}")
        try:
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise CommandError(f"{pairs} is not JSON lines: {error}") from None
        workspace = account_services.workspace_create(name=f"semantic-eval-{time.time_ns()}")
        try:
            default_threshold = WorkspaceSettings.objects.get(workspace=workspace).semantic_threshold
            results = self._run(workspace, rows)
        finally:
            workspace.delete()
        thresholds = [threshold or default_threshold]
        if curve:
            thresholds += [value / 100 for value in range(70, 100, 5) if value / 100 != thresholds[0]]
        same_total = sum(1 for row in rows if row.get("same"))
        self.stdout.write(
            f"pairs: {len(rows)} (same: {same_total}); "
            f"look-up {results['lookup_ms']:.1f} ms/query (embed, search, verify)"
        )
        self.stdout.write("threshold  served  correct  wrong  precision  recall")
        for value in sorted(thresholds):
            served = [outcome for outcome in self._outcomes(results["looked_up"], value) if outcome["served_id"]]
            correct = sum(1 for outcome in served if outcome["correct"])
            precision = correct / len(served) if served else 1.0
            recall = correct / same_total if same_total else 0.0
            marker = "  <- shipped default" if value == default_threshold and not threshold else ""
            self.stdout.write(
                f"{value:9.2f}  {len(served):6d}  {correct:7d}  {len(served) - correct:5d}  "
                f"{precision:9.3f}  {recall:6.3f}{marker}"
            )
        for outcome in self._outcomes(results["looked_up"], thresholds[0]):
            if outcome["served_id"] and not outcome["correct"]:
                self.stdout.write(f"wrong hit: {outcome['id']} ({outcome['kind']}) served {outcome['served_id']}")

    def _outcomes(self, looked_up, threshold):
        """Serve each looked-up row as the proxy would at ``threshold``: the verifier's floor depends on it."""
        outcomes = []
        for row, query, candidates in looked_up:
            match = best_match(query, candidates, threshold=threshold)
            served_id = match[0].response.get("pair") if match else None
            outcomes.append(
                {
                    "id": row.get("id"),
                    "kind": row.get("kind", ""),
                    "served_id": served_id,
                    "correct": bool(match) and served_id == row.get("id") and bool(row.get("same")),
                }
            )
        return outcomes

    def _run(self, workspace, rows):
        embedder = local_embedder()
        secret = workspace_hash_key(workspace.cache_secret)
        expires_at = timezone.now() + timedelta(hours=1)
        # One at a time, as the proxy embeds each request: int8 activations are scaled per batch.
        embeddings = [embedder.embed_one(with_slips_corrected(row["a"])) for row in rows]
        for row, embedding in zip(rows, embeddings):
            body = _request(row["a"])
            services.cache_entry_store(
                workspace_id=workspace.pk,
                kind="chat",
                key_hash=keys.exact_key(secret=secret, endpoint="chat", provider="openai", model=MODEL, body=body),
                context_hash=keys.context_key(secret=secret, provider="openai", model=MODEL, body=body),
                model=MODEL,
                provider="openai",
                response={"pair": row.get("id")},
                usage={},
                cost_usd=0,
                expires_at=expires_at,
                embedding=embedding.tolist(),
                fingerprint=fingerprint(row["a"], secret=secret.encode()).to_json(),
            )
        looked_up = []
        lookup_started = time.perf_counter()
        for row in rows:
            body = _request(row["b"])
            candidates = selectors.cache_entry_find_similar(
                workspace_id=workspace.pk,
                context_hash=keys.context_key(secret=secret, provider="openai", model=MODEL, body=body),
                embedding=embedder.embed_one(with_slips_corrected(row["b"])).tolist(),
            )
            query = fingerprint(row["b"], secret=secret.encode())
            best_match(query, candidates, threshold=0.0)  # timed with the look-up, as the proxy does it
            looked_up.append((row, query, candidates))
        elapsed = time.perf_counter() - lookup_started
        return {"looked_up": looked_up, "lookup_ms": elapsed * 1000 / max(len(rows), 1)}
