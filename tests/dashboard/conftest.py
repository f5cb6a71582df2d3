"""Fixtures for the dashboard's tests: operators, and documents written straight to the database
in the states the figures are about (no files are read: the dashboard never opens them)."""

import importlib
import uuid
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from documents.models import Document
from processing.models import Attempt, Job, Page

PASSWORD = "correct-horse-battery"


def seed_default_rules() -> None:
    """The shipped alert rules, as the data migration writes them. A transactional test
    flushes every table afterwards, data migrations' rows included, so tests that need the
    shipped rules ask for them rather than count on the migration."""
    migration = importlib.import_module("dashboard.migrations.0002_default_alert_rules")
    migration.seed(apps, None)


@pytest.fixture
def default_rules(db) -> None:
    seed_default_rules()


OPERATOR_PERMISSIONS = ("retry_document", "cancel_document", "acknowledge_alert")


@pytest.fixture
def operator(db):
    """Staff with the operators' permissions (/ops/ actions need them, not only staff status)."""
    olga = get_user_model().objects.create_user("olga", password=PASSWORD, is_staff=True)
    olga.user_permissions.add(*Permission.objects.filter(codename__in=OPERATOR_PERMISSIONS))
    return olga


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def make_document(
    owner,
    *,
    status: str = Document.Status.COMPLETED,
    name: str = "scan.pdf",
    pages: int = 2,
    created: datetime | None = None,
    started_after: float = 2.0,
    page_seconds: float = 1.5,
    size_bytes: int = 250_000,
    confidence: float | None = 91.0,
    page_status: str | None = None,
) -> Document:
    """A document with its job and pages, as the pipeline would have left it."""
    created = created or timezone.now() - timedelta(minutes=5)
    started = created + timedelta(seconds=started_after)
    finished = started + timedelta(seconds=page_seconds * pages + 1)
    is_finished = status in Document.FINISHED
    document = Document.objects.create(
        owner=owner,
        original_name=name,
        file=f"documents/{uuid.uuid4()}/original.pdf",
        size_bytes=size_bytes,
        sha256=uuid.uuid4().hex * 2,
        mime_type="application/pdf",
        status=status,
        page_count=pages if status != Document.Status.QUEUED else None,
        pages_done=pages if status == Document.Status.COMPLETED else 0,
        started_at=started if status != Document.Status.QUEUED else None,
        finished_at=finished if is_finished else None,
    )
    # created_at is auto_now_add: set the past afterwards.
    Document.objects.filter(id=document.id).update(created_at=created)
    Job.objects.create(
        document=document,
        enqueued_at=created,
        started_at=document.started_at,
        finished_at=document.finished_at,
    )
    if status != Document.Status.QUEUED:
        done = status == Document.Status.COMPLETED
        for number in range(1, pages + 1):
            Page.objects.create(
                document=document,
                number=number,
                status=page_status or (Page.Status.DONE if done else Page.Status.PENDING),
                mean_confidence=confidence if done else None,
                timings={"render": 0.3, "ocr": page_seconds - 0.4, "total": page_seconds} if done else {},
                done_at=started + timedelta(seconds=page_seconds * number) if done else None,
            )
    document.refresh_from_db()
    return document


def fail_with(document: Document, *, stage: str, error_class: str, message: str, page: int | None = None) -> Attempt:
    """Record the attempt that failed `document`, as the actors do."""
    job = document.job
    started = (document.started_at or timezone.now()) + timedelta(seconds=1)
    return Attempt.objects.create(
        job=job,
        stage=stage,
        page_number=page,
        worker="host-a:101",
        started_at=started,
        finished_at=started + timedelta(seconds=1),
        outcome=Attempt.Outcome.FAILED,
        error_class=error_class,
        message=message,
    )
