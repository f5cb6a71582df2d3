"""What the rest of the service may ask of processing: the one module `documents` imports.

    a document's job              job_create, job_start, job_finish, job_fail, job_requeue,
                                  job_change_lane
    where a document stands       queue_states, QueueState
    what was read                 Page, pages_of_document, pages_read, page_of_document, page_timings,
                                  page_image_names
    the workers' local copies     forget_cached, sweep_cache (deleted documents', orphans)
    how a run went                current_run, last_failure_was_permanent
    checking an upload            check_upload, SUPPORTED_TYPES, PermanentError
    the wait a new upload faces   newcomer_wait_seconds
    the JSON of a read document   document_json, page_json, extraction_json, read_document_json

A document's own row is the documents app's: these change only processing's rows (a job, its
pages), in the caller's transaction, and send work after it commits. The workers change the
document through documents.lifecycle.
"""

from typing import BinaryIO

from processing import lanes, options
from processing.engine import validation
from processing.engine.errors import PermanentError
from processing.engine.rendering import SUPPORTED_TYPES
from processing.engine.results import ReadDocumentJson, document_json, extraction_json, page_json, read_document_json
from processing.files import forget_cached, sweep_cache
from processing.jobs import job_change_lane, job_create, job_fail, job_finish, job_requeue, job_start
from processing.models import Page
from processing.queue import QueueState, newcomer_wait_seconds, queue_states
from processing.selectors import (
    Run,
    current_run,
    last_failure_was_permanent,
    page_image_names,
    page_of_document,
    page_timings,
    pages_of_document,
    pages_read,
)

LANES = lanes.LANES

__all__ = [
    "LANES",
    "SUPPORTED_TYPES",
    "Page",
    "PermanentError",
    "QueueState",
    "ReadDocumentJson",
    "Run",
    "check_upload",
    "current_run",
    "document_json",
    "extraction_json",
    "forget_cached",
    "job_change_lane",
    "job_create",
    "job_fail",
    "job_finish",
    "job_requeue",
    "job_start",
    "last_failure_was_permanent",
    "newcomer_wait_seconds",
    "page_image_names",
    "page_json",
    "page_of_document",
    "page_timings",
    "pages_of_document",
    "pages_read",
    "queue_states",
    "read_document_json",
    "sweep_cache",
]


def check_upload(upload: BinaryIO, mime_type: str) -> int:
    """The quick checks of an upload (type, password, page count): its page count, or
    PermanentError with a message for the person who sent it. The worker's first step checks
    the rest, and makes a readable copy of a PDF that needs repair."""
    return validation.quick_check(upload, mime_type, options.file_limits())
