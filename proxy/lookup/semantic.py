"""Semantic look-ups: embed the last user message, search pgvector within the workspace and context,
then let the verifier reject near misses. Embedding and fingerprinting run off the event loop.
"""

import asyncio
import functools
import logging

import orjson
from django.conf import settings
from django.db import DatabaseError

from cachestore import selectors
from proxy.db import DATABASE, DatabaseUnavailable, in_db_thread
from proxy.lookup.exact import CachedAnswer

OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
logger = logging.getLogger(__name__)


def _local_embedding(text):
    from cachestore.semantic.embedder import local_embedder

    return local_embedder().embed_one(text).tolist()


def _embedding_text(text):
    from cachestore.semantic.typos import with_slips_corrected

    return with_slips_corrected(text)


def _fingerprint(text, secret):
    from cachestore.semantic.fingerprint import fingerprint

    return fingerprint(text, secret=secret.encode())


def describe_vector_failure(action, error):
    """Name a failed vector statement by its error class and SQLSTATE, never by its message.

    PostgreSQL's messages can quote the row being written (the stored answer), which no log may hold.
    """
    sqlstate = getattr(error.__cause__, "sqlstate", None) or "none"
    return f"{action} failed: {type(error).__name__} (SQLSTATE {sqlstate})"


def vector_statement_failed(error):
    """True for an error of the vector statement itself (or of its backend dying), False for an unreachable server."""
    return not isinstance(error, DatabaseUnavailable) or error.mid_statement


class SemanticCache:
    """Semantic look-ups of one process; a failing vector extension switches them off for the process."""

    def __init__(self):
        self.off_reason = None

    @property
    def available(self):
        return self.off_reason is None

    def switch_off(self, reason):
        """Stop semantic look-ups and vector writes in this process, logging why once.

        A broken pgvector (a build for a CPU this one is not) kills the database backend on each
        vector statement; trying again on every request would take every other connection down with it.
        """
        if self.off_reason is None:
            self.off_reason = reason
            logger.error("semantic cache switched off for this process: %s", reason)

    def switch_on(self):
        """Allow semantic look-ups again (after the database was repaired, or between tests)."""
        self.off_reason = None

    async def prepare(self, ctx, cache_plan):
        """Compute the embedding and the keyed fingerprint of the plan's query text."""
        queue = ctx.runtime.metrics.embedder_queue
        queue.inc()
        try:
            await self._prepare(ctx, cache_plan)
        finally:
            queue.dec()

    async def _prepare(self, ctx, cache_plan):
        loop = asyncio.get_running_loop()
        text = cache_plan.query_text
        secret = ctx.key_record.hash_key
        fingerprint = await loop.run_in_executor(None, _fingerprint, text, secret)
        # The fingerprint itself, not its JSON: only a fingerprint just made carries the words the
        # verifier needs to find slips and guard rephrasings; the stored entry gets its JSON.
        cache_plan.fingerprint = fingerprint
        # Slips are corrected before embedding so that a typo costs no similarity; both the stored
        # entry and the query are embedded this way (the plan's embedding is what gets stored).
        embedding_text = await loop.run_in_executor(None, _embedding_text, text)
        cache_plan.embedding = await self._embed(ctx, embedding_text)

    async def _embed(self, ctx, text):
        if settings.OPTERA_EMBEDDER == "openai":
            return await self._embed_with_openai(ctx, text)
        return await asyncio.get_running_loop().run_in_executor(None, _local_embedding, text)

    async def _embed_with_openai(self, ctx, text):
        """Use OpenAI's embeddings API (the operator chose to send prompt text there)."""
        from proxy.providers import openai

        # Only a key given for OpenAI itself (or the operator's): the request's key may be for another provider.
        provider_key = ctx.provider_key("openai", primary=False)
        if not provider_key:
            raise RuntimeError("no OpenAI key for the embeddings API")
        request = openai.embeddings_request(
            {"input": text, "dimensions": 384}, model=OPENAI_EMBEDDING_MODEL, provider_key=provider_key
        )
        response = await ctx.runtime.upstream.send(request)
        try:
            return orjson.loads(await response.read())["data"][0]["embedding"]
        finally:
            response.release()

    async def find(self, ctx, cache_plan):
        """Return the nearest verified answer in this workspace and context, or None."""
        from cachestore.semantic.matching import best_match

        try:
            await self.prepare(ctx, cache_plan)
        except Exception:  # an embedder failure costs a cache hit, never the request
            logger.warning("semantic cache: could not embed the query", exc_info=True)
            cache_plan.semantic = False
            return None
        try:
            candidates = await in_db_thread(
                selectors.cache_entry_find_similar,
                workspace_id=ctx.key_record.workspace_id,
                context_hash=cache_plan.context_hash,
                embedding=cache_plan.embedding,
            )
        except (DatabaseError, DatabaseUnavailable) as error:
            if vector_statement_failed(error):
                self.switch_off(describe_vector_failure("vector search", error))
            else:
                ctx.record.degrade(DATABASE)
            cache_plan.semantic = False
            return None
        # Off the event loop: looking for slips hashes a few hundred misspellings of a word.
        match = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(best_match, cache_plan.fingerprint, candidates, threshold=cache_plan.threshold)
        )
        if match is None:
            return None
        entry, similarity = match
        return CachedAnswer.from_entry(entry, similarity=similarity)
