"""The files a worker reads, on its own disk: poppler and Tesseract need local files, and the
storage may be a bucket on another host.

A source file (an upload, or its repaired copy) is copied once per host into a cache keyed by
its content (sha256), and read from there by every page of every document with that content.
A copy whose content is not the one recorded (the stored file changed since) is not cached:
it is read from the step's scratch folder, as stored. The cache is bounded
(EXORA_CACHE_MAX_MB): the least recently used files go first, except files read in the last
page timeout, which a worker may still be reading.

Every access to stored files goes through Django's storage API; nothing here asks a storage
for a path of its own.
"""

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

COPY_CHUNK = 1024 * 1024


def cached_source(storage_name: str, sha256: str, scratch: Path) -> Path:
    """A local copy of the stored file `storage_name`, recorded with content `sha256` ("" when
    unknown): from the cache, or fetched into it; in `scratch` when it is not that content."""
    cache = Path(settings.EXORA_CACHE_DIR)
    target = cache / f"{sha256}{Path(storage_name).suffix}"
    if sha256 and target.is_file():
        os.utime(target)  # recently used: the last to go
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Fetched beside its place and moved in whole: another process never reads half a file.
    partial = cache / f".{target.name}.{uuid.uuid4().hex}.part"
    try:
        digest = hashlib.sha256()
        with default_storage.open(storage_name, "rb") as stored, partial.open("wb") as local:
            while chunk := stored.read(COPY_CHUNK):
                digest.update(chunk)
                local.write(chunk)
        if not sha256 or digest.hexdigest() != sha256:
            unverified = scratch / f"source{Path(storage_name).suffix}"
            os.replace(partial, unverified)
            return unverified
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    evict_least_recently_used(keep=target)
    return target


def warm_storage() -> None:
    """Make this thread's connection to the storage (a bucket's client is one per thread)."""
    default_storage.exists("warm-up")


def evict_least_recently_used(keep: Path) -> int:
    """Delete the least recently used files until the cache fits its size; returns how many."""
    cache = Path(settings.EXORA_CACHE_DIR)
    budget = settings.EXORA_CACHE_MAX_MB * 1024 * 1024
    files = []
    for entry in os.scandir(cache):
        if entry.is_file() and not entry.name.startswith("."):
            stat = entry.stat()
            files.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in files)
    in_use_since = time.time() - settings.EXORA_PAGE_TIMEOUT
    evicted = 0
    for used_at, size, path in sorted(files):
        if total <= budget:
            break
        if path == keep or used_at > in_use_since:
            continue
        with contextlib.suppress(FileNotFoundError):  # another worker evicted it first
            path.unlink()
            evicted += 1
        total -= size
    return evicted


def store_readable_copy(document_id: str, local_copy: Path, extension: str) -> tuple[str, str]:
    """Save a repaired copy made by a worker; returns its name in the storage and its sha256."""
    with local_copy.open("rb") as copy:
        sha256 = hashlib.file_digest(copy, "sha256").hexdigest()
        copy.seek(0)
        return default_storage.save(f"documents/{document_id}/readable{extension}", File(copy)), sha256


def forget_cached(sha256: str) -> int:
    """Delete this host's cached copies of one content (a deleted document's); returns how many."""
    cache = Path(settings.EXORA_CACHE_DIR)
    if not sha256 or not cache.is_dir():
        return 0
    removed = 0
    for path in cache.glob(f"{sha256}*"):  # a sha256 is hex: nothing for glob to expand
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def sweep_cache(is_known: Callable[[str], bool], older_than: float) -> int:
    """Delete the cached copies no document owns any more, and the partial fetches of killed
    workers, last used before `older_than` (a timestamp); returns how many."""
    cache = Path(settings.EXORA_CACHE_DIR)
    if not cache.is_dir():
        return 0
    removed = 0
    for entry in os.scandir(cache):
        if not entry.is_file() or entry.stat().st_mtime >= older_than:
            continue
        partial = entry.name.startswith(".")
        if partial or not is_known(entry.name.split(".", 1)[0]):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed
