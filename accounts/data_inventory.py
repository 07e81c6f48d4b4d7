"""What Optera stores, where and for how long: the one declared table behind the privacy page.

Every model of every installed app is either named by an entry of INVENTORY or listed in
NOT_CUSTOMER_DATA with the reason; tests/privacy/test_inventory.py compares this with the models,
so a new model fails a test until it is declared here (and so shown to customers). Redis keys are
declared by prefix in REDIS_KEYS, and a test checks every key that traffic leaves in Redis
against them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Stored:
    name: str
    models: tuple[str, ...]  # model labels ("app.Model"); "app.*" for every model of an app
    where: str
    holds: str
    never: str
    # Read with the workspace's figures: {retention_days}, {cache_ttl_days}, {deletion_window_days}.
    kept: str


INVENTORY = (
    Stored(
        "Workspace settings",
        ("accounts.Workspace", "accounts.WorkspaceSettings"),
        "PostgreSQL",
        "the workspace's name and the options on the Settings page",
        "—",
        "until the workspace is deleted, then gone within {deletion_window_days} days",
    ),
    Stored(
        "Members",
        ("accounts.Membership", "accounts.Invitation"),
        "PostgreSQL",
        "who may see the workspace and their role; open invitations (the invitee's address)",
        "—",
        "until removed",
    ),
    Stored(
        "API keys",
        ("accounts.ApiKey",),
        "PostgreSQL",
        "a salted hash, a short preview, name, dates",
        "the key itself; your provider keys",
        "until the workspace is deleted (revoked keys stay, unusable)",
    ),
    Stored(
        "Request logs",
        ("analytics.RequestLog",),
        "PostgreSQL",
        "model, tokens, cost, savings, timings, cache status, client IP, the end user, tags and session you "
        "send, a keyed hash of the prompt",
        "prompt or answer text",
        "{retention_days} days, then deleted",
    ),
    Stored(
        "Daily usage",
        ("analytics.DailyUsage",),
        "PostgreSQL",
        "per day, model and cache status: requests, tokens, cost and savings (sums only)",
        "anything about a single request",
        "until the workspace is deleted (the history of your savings)",
    ),
    Stored(
        "Cached answers",
        ("cachestore.CacheEntry",),
        "PostgreSQL, Redis (hot copy), proxy memory (5 s)",
        "the provider's answer, its usage and cost, keyed hashes and a vector of the question",
        "the question's text",
        "{cache_ttl_days:g} days (the cache TTL), then deleted",
    ),
    Stored(
        "Semantic cache verification",
        ("cachestore.SemanticVerifyTally", "cachestore.SemanticThresholdRaise"),
        "PostgreSQL",
        "how many sampled semantic hits agreed or disagreed with a fresh answer (counts), and each automatic "
        "raise of the semantic threshold (when, from, to, on what counts)",
        "either answer's text; which request was sampled",
        "until the workspace is deleted",
    ),
    Stored(
        "Compressed system prompts",
        ("cachestore.CompressedPrompt",),
        "PostgreSQL",
        "the compressed text of long system prompts that compression shortened (when compression is on)",
        "the original prompt; a prompt compression could not shorten (only a marker without text)",
        "until unused for {retention_days} days",
    ),
    Stored(
        "Conversation summaries",
        ("cachestore.ConversationSummary",),
        "PostgreSQL",
        "summaries of older turns (when summaries are on)",
        "the turns themselves",
        "until unused for {retention_days} days",
    ),
    Stored(
        "Plan, budgets and alerts",
        ("billing.WorkspacePlan", "billing.Budget", "billing.Webhook", "billing.WebhookDelivery"),
        "PostgreSQL",
        "the plan and Stripe ids, budgets (an end user or tag you name), the webhook address and its deliveries",
        "card details (Stripe holds them)",
        "deliveries {retention_days} days; the rest until the workspace is deleted",
    ),
    Stored(
        "Conversation cadence",
        (),
        "Redis when configured, else proxy memory",
        "when a conversation's last turn came, the gaps between its turns, the prompt-cache TTL chosen "
        "and the prompt's estimated size, under a keyed hash of the conversation",
        "prompt text",
        "two hours",
    ),
    Stored(
        "Usage counters",
        ("billing.UsageCounter", "billing.AlertSent"),
        "PostgreSQL, or Redis when configured",
        "how much of a quota, budget or rate limit a period has used; which alerts were sent",
        "anything about a single request",
        "until the period ends",
    ),
    Stored(
        "Your account",
        ("auth.User", "accounts.Profile", "accounts.ClerkIdentity", "sessions.Session"),
        "PostgreSQL",
        "email, password hash, confirmations, the sign-in provider's id, signed-in sessions",
        "your password",
        "until you close your account (deleted at once; Stripe's billing records are kept as the law requires)",
    ),
    Stored(
        "Emails sent",
        ("accounts.OutboundEmail",),
        "PostgreSQL",
        "address, subject and delivery status of emails we sent",
        "the body, once sent (it held links)",
        "{deletion_window_days} days",
    ),
    Stored(
        "Billing records",
        ("djstripe.*",),
        "PostgreSQL (copies of Stripe's records)",
        "customer, subscription, invoice and payment records as Stripe sends them",
        "full card numbers",
        "as accounting law requires (the documented exception to deletion)",
    ),
    Stored(
        "Operator audit log",
        ("admin.LogEntry",),
        "PostgreSQL",
        "which operator changed which row in the admin, and when",
        "—",
        "until the operator deletes it",
    ),
)

# Models that hold no customer's data, with the reason.
NOT_CUSTOMER_DATA = {
    "analytics.ModelPrice": "the providers' list prices",
    "billing.Plan": "the plans on sale",
    "billing.StripeEventClaim": "a Stripe event id and type, claimed once",
    "auth.Group": "Django's permission groups",
    "auth.Permission": "Django's permission names",
    "contenttypes.ContentType": "Django's table of models",
}

# Redis keys by prefix: what each holds and how long it lives.
REDIS_KEYS = {
    "optera:cache:": "a cached answer's hot copy, for the cache TTL",
    "optera:flight:": "a miss being answered once for every process, for seconds",
    "optera:counter:": "a quota, budget or rate-limit counter, until its period ends",
    ":1:": "Django's cache: the live feed's watch flag (a minute); a conversation's cadence (two hours)",
    "asgi": "the live feed's channel layer (Django Channels): a request's figures on their way to a watcher",
    "celery": "the Celery broker: task names and row ids, never prompt text",
    "_kombu": "the Celery broker's bindings",
    "unacked": "the Celery broker's tasks in flight",
}


def covers(entry, label):
    """Return True when `entry` declares the model labelled `label`."""
    app_label = label.partition(".")[0]
    return label in entry.models or f"{app_label}.*" in entry.models
