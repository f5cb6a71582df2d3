"""Writes of attempts: every run of a stage, where it ran, when, and how it ended."""

from documents import lifecycle
from processing.identity import database_now, worker_name
from processing.models import Attempt, Job


def attempt_start(document_id: str, stage: str, page_number: int | None = None) -> Attempt | None:
    """Note that this worker process starts a run of `stage`; None when the document is gone."""
    job = Job.objects.filter(document_id=document_id).values("id", "enqueued_at").first()
    if job is None:
        return None
    if stage == Attempt.Stage.PAGE and job["enqueued_at"] is not None:
        lifecycle.document_first_page_started(document_id, job["enqueued_at"])
    return Attempt.objects.create(
        job_id=job["id"],
        stage=stage,
        page_number=page_number,
        worker=worker_name(),
        started_at=database_now(),
    )


def attempt_end(attempt: Attempt | None, outcome: str, error: BaseException | None = None) -> None:
    """Note how a run ended and, when it raised, with what."""
    if attempt is None:
        return
    attempt.finished_at = database_now()
    attempt.outcome = outcome
    if error is not None:
        attempt.error_class = type(error).__name__
        attempt.message = str(error)
    attempt.save(update_fields=["finished_at", "outcome", "error_class", "message"])
    if outcome == Attempt.Outcome.RETRYING:
        lifecycle.document_will_retry(str(attempt.job.document_id))
