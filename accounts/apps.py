from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and consent"

    def ready(self) -> None:
        from accounts.signals import sync_group_permissions

        post_migrate.connect(sync_group_permissions, dispatch_uid="accounts.sync_group_permissions")
