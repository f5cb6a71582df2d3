"""Signal receivers of the dashboard app (connected in apps.py)."""

from typing import Any

from django.contrib.admin.models import LogEntry


def copy_admin_entry(sender: type[LogEntry], instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if created:
        from dashboard.services import operations

        operations.record_admin_entry(instance)
