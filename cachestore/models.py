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
        MESSAGES = "messages"  # Anthropic-native /v1/messages
        RESPONSES = "responses"  # OpenAI Responses API

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
            HnswIndex(
                name="cache_entry_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.key_hash[:12]}… ({self.workspace_id})"


class CompressedPrompt(models.Model):
    """A system prompt's losslessly compressed text, found by a keyed hash of the original.

    Our privacy policy names this content as stored; the original text is not kept.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="compressed_prompts")
    prompt_hash = models.CharField(max_length=64)
    compressed_text = models.TextField()
    tokens_before = models.PositiveIntegerField()
    tokens_after = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "prompt_hash"], name="compressed_prompt_unique")]

    def __str__(self):
        return f"{self.prompt_hash[:12]}… {self.tokens_before}→{self.tokens_after}"


class ConversationSummary(models.Model):
    """A summary of a conversation's older turns, found by a keyed chain hash of those turns.

    Later requests whose messages start with the same turns send the summary instead of them.
    The summarised turns themselves are not kept.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="summaries")
    prefix_hash = models.CharField(max_length=64)
    summary_text = models.TextField()
    messages_summarised = models.PositiveIntegerField()
    tokens_before = models.PositiveIntegerField()
    tokens_after = models.PositiveIntegerField()
    model = models.CharField(max_length=100)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "conversation summaries"
        constraints = [models.UniqueConstraint(fields=["workspace", "prefix_hash"], name="conversation_summary_unique")]

    def __str__(self):
        return f"{self.prefix_hash[:12]}… {self.messages_summarised} messages"


class SemanticVerifyTally(models.Model):
    """How the workspace's sampled semantic hits compared with a fresh upstream answer: counts only.

    Neither answer's text is kept, nor which request was sampled. Every proxy process adds to the
    same row with F() updates, so the dashboard and every process read the same figures. The
    window counts restart after each automatic threshold raise (the new threshold is judged on
    its own samples) and after `WINDOW_RESTART_FACTOR` times the workspace's minimum without one.
    """

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="semantic_verify_tally"
    )
    samples = models.PositiveIntegerField(default=0)
    agreements = models.PositiveIntegerField(default=0)
    disagreements = models.PositiveIntegerField(default=0)
    window_samples = models.PositiveIntegerField(default=0)
    window_disagreements = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.disagreements}/{self.samples} disagreements ({self.workspace_id})"


class SemanticThresholdRaise(models.Model):
    """One automatic raise of a workspace's semantic threshold, and the evidence behind it."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="threshold_raises")
    raised_at = models.DateTimeField(default=timezone.now)
    threshold_before = models.FloatField()
    threshold_after = models.FloatField()
    window_samples = models.PositiveIntegerField()
    window_disagreements = models.PositiveIntegerField()
    disagreement_bound = models.FloatField()

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self):
        return f"{self.threshold_before:.2f} → {self.threshold_after:.2f} ({self.workspace_id})"
