"""`manage.py sweep_orphans`: delete the files no row owns, older than EXORA_ORPHAN_GRACE_HOURS."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from documents import retention


class Command(BaseCommand):
    help = "Delete stored files, scratch and cached copies that no document owns, past the grace period."

    def handle(self, *args: Any, **options: Any) -> None:
        swept = retention.sweep_orphans()
        self.stdout.write(
            f"Deleted {swept.stored} stored file(s), {swept.scratch} scratch entries and {swept.cached} cached "
            f"copies owned by no document and older than {settings.EXORA_ORPHAN_GRACE_HOURS} h."
        )
