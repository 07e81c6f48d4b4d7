from django.db import models


class Plan(models.Model):
    """A plan's quotas; its price lives in Stripe (dj-stripe's Price) under `stripe_price_id`."""

    name = models.CharField(max_length=60, unique=True)
    monthly_request_quota = models.PositiveIntegerField(null=True, blank=True, help_text="empty: unlimited")
    stripe_price_id = models.CharField(max_length=100, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
