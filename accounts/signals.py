"""Events in accounts that other modules act on, so the sender need not import them."""

from django.dispatch import Signal

# Sent with `workspace_id` once a workspace's deletion has committed. accounts.apps connects
# accounts.tasks to it to enqueue the purge: services cannot import the tasks that import them.
workspace_deleted = Signal()

# Sent with `workspace_id` inside the transaction that deletes a workspace, before its rows go:
# billing reads the Stripe subscription to cancel here, since the purge may remove it first.
workspace_deleting = Signal()

# Sent with `workspace_id` by the purge of a deleted workspace, before its rows go: what refers to
# the workspace by name rather than by foreign key (counters, Redis keys) is deleted by receivers.
workspace_purging = Signal()

# Sent with `email_id` once an email queued for delivery (accounts.emails) has committed.
# accounts.apps connects accounts.tasks to it to enqueue the delivery, for the same reason.
email_queued = Signal()
