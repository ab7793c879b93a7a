from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and consent"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        # at ready(): the signal handlers use the models, which are not loaded when apps.py is imported
        from accounts.signals import close_sockets_on_logout, sync_group_permissions

        post_migrate.connect(sync_group_permissions, dispatch_uid="accounts.sync_group_permissions")
        user_logged_out.connect(close_sockets_on_logout, dispatch_uid="accounts.close_sockets_on_logout")
