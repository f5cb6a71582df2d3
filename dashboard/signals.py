"""Signal receivers of the dashboard app (connected in apps.py)."""

from django.contrib.admin.models import LogEntry


def copy_admin_entry(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if created:
        from dashboard.services import operations

        operations.record_admin_entry(instance)
