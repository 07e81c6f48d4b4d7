from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import signals, tasks

        signals.workspace_deleted.connect(tasks.workspace_purge_enqueue, dispatch_uid="accounts.workspace_purge")
        signals.email_queued.connect(tasks.email_deliver_enqueue, dispatch_uid="accounts.email_deliver")
