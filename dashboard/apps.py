from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from dashboard.signals import copy_admin_entry

        # Actions taken in the admin on other apps' models (a document retried or cancelled
        # there) reach the operators' audit log too.
        post_save.connect(copy_admin_entry, sender=LogEntry, dispatch_uid="dashboard-audit-admin")
