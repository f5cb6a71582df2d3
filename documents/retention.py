"""What is kept, and for how long: finished documents past `EXORA_RETENTION_DAYS` are deleted
(`manage.py purge_expired`), and a sweep deletes the files no row owns (`manage.py
sweep_orphans`): an upload that failed in an unexpected way, a page a worker stored after its
document was deleted, the scratch folders and partial fetches of a worker killed mid-page.
Files younger than the grace period (`EXORA_ORPHAN_GRACE_HOURS`) are left alone, since a row
may be about to name them.

Both run once a day in the alert evaluator's leader (`DailyDuties`, dashboard.services.evaluator),
beside the purge of the record of reads past `EXORA_ACCESS_LOG_DAYS` (access.records) and of
expired API tokens (exora.token_auth).
"""

import contextlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils import timezone

from access import records
from documents import lifecycle
from documents.deletion import content_is_kept, delete_stored_folder, document_folder, stored_files_under
from documents.models import Document
from exora.token_auth import tokens_expired_delete
from processing import api as processing

logger = logging.getLogger(__name__)

DAY_SECONDS = 86_400
DAILY_DUTIES_KEY = "retention:daily-duties-done"  # in the cache while today's are done


def purge_expired(now: datetime | None = None) -> int:
    """Delete the finished documents older than the retention period (off when 0); how many."""
    days = settings.EXORA_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = Document.objects.filter(status__in=Document.FINISHED, finished_at__lt=cutoff)
    purged = 0
    for document_id in expired.values_list("id", flat=True).iterator():
        with contextlib.suppress(Document.DoesNotExist):  # deleted meanwhile by its owner
            lifecycle.document_delete(document_id)
            purged += 1
    if purged:
        logger.info("retention: deleted %d document(s) finished more than %d days ago", purged, days)
    return purged


@dataclass
class Swept:
    stored: int = 0  # files in the storage
    scratch: int = 0  # entries of the scratch folder
    cached: int = 0  # the workers' cached copies on this host

    @property
    def total(self) -> int:
        return self.stored + self.scratch + self.cached


def sweep_orphans(now: datetime | None = None) -> Swept:
    """Delete the files no row owns, older than the grace period."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EXORA_ORPHAN_GRACE_HOURS)
    swept = Swept(
        stored=_sweep_storage(cutoff),
        scratch=_sweep_scratch(Path(settings.EXORA_TMP_DIR), cutoff.timestamp()),
        cached=processing.sweep_cache(content_is_kept, cutoff.timestamp()),
    )
    if swept.total:
        logger.info("orphan sweep: %d stored file(s), %d scratch entries, %d cached copies", *vars(swept).values())
    return swept


def _sweep_storage(cutoff: datetime) -> int:
    try:
        folders, _ = default_storage.listdir("documents")
    except FileNotFoundError:
        return 0
    removed = 0
    for folder_name in folders:
        document = Document.objects.filter(id=folder_name).first() if _is_uuid(folder_name) else None
        folder = document_folder(folder_name)
        if document is None:
            if all(_older_than(name, cutoff) for name in stored_files_under(folder)):
                removed += delete_stored_folder(folder)
            continue
        owned = {document.file.name, document.readable_file.name, *processing.page_image_names(str(document.id))}
        for name in stored_files_under(folder):
            if name not in owned and _older_than(name, cutoff):
                default_storage.delete(name)
                removed += 1
    return removed


def _older_than(name: str, cutoff: datetime) -> bool:
    try:
        modified = default_storage.get_modified_time(name)
    except FileNotFoundError:
        return False
    if timezone.is_naive(modified):
        modified = modified.replace(tzinfo=UTC)
    return modified < cutoff


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _sweep_scratch(folder: Path, older_than: float) -> int:
    """Entries of the scratch folder untouched since `older_than`: the temporary files and page
    folders of processes that died before cleaning up (a live one is minutes old at most)."""
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.iterdir():
        try:
            if _newest_change(entry) >= older_than:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except FileNotFoundError:
            continue  # its process cleaned it up meanwhile
    return removed


def _newest_change(entry: Path) -> float:
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        for inner in entry.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, inner.lstat().st_mtime)
    return newest


class DailyDuties:
    """Retention, the orphan sweep, the purge of records of reads past EXORA_ACCESS_LOG_DAYS
    and of expired API tokens, once a day. The day is marked in the shared cache (Redis), not in
    the process: a new leader (a restart, a failover) does not run them again the same day."""

    def run_when_due(self) -> bool:
        if not cache.add(DAILY_DUTIES_KEY, time.time(), timeout=DAY_SECONDS):
            return False
        purge_expired()
        sweep_orphans()
        records.purge_older_than(settings.EXORA_ACCESS_LOG_DAYS)
        tokens_expired_delete()
        return True
