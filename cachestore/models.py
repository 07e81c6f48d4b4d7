from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 384


class CacheEntry(models.Model):
    """One complete, successful answer, found again by a keyed hash of its request.

    No prompt text is kept: the key and context are HMACs under the workspace's secret, the
    semantic side keeps an embedding and a keyed-hash fingerprint of the last user message.
    """

    class Kind(models.TextChoices):
        CHAT = "chat"
        EMBEDDINGS = "embeddings"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="cache_entries")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHAT)
    key_hash = models.CharField(max_length=64)
    context_hash = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=100)
    provider = models.CharField(max_length=20)
    response = models.JSONField()
    usage = models.JSONField(default=dict)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    fingerprint = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    hit_count = models.PositiveIntegerField(default=0)
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "cache entries"
        constraints = [models.UniqueConstraint(fields=["workspace", "key_hash"], name="cache_entry_unique_key")]
        indexes = [
            models.Index(fields=["workspace", "context_hash"], name="cache_entry_context"),
            HnswIndex(name="cache_entry_embedding", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.key_hash[:12]}… ({self.workspace_id})"
