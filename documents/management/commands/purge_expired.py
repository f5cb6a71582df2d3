"""`manage.py purge_expired`: delete the finished documents older than EXORA_RETENTION_DAYS."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from documents import retention


class Command(BaseCommand):
    help = "Delete finished documents older than EXORA_RETENTION_DAYS, with every file of them."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EXORA_RETENTION_DAYS:
            self.stdout.write("EXORA_RETENTION_DAYS is 0: documents are kept; nothing to do.")
            return
        purged = retention.purge_expired()
        self.stdout.write(f"Deleted {purged} document(s) finished more than {settings.EXORA_RETENTION_DAYS} days ago.")
