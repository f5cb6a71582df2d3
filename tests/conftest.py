"""Fixtures shared by the suite: people, web and API clients, and an in-process Dramatiq worker."""

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dramatiq
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from django.contrib.auth import get_user_model
from django.test import Client
from dramatiq.brokers.stub import StubBroker
from rest_framework.test import APIClient

import processing.actors  # noqa: F401 (the in-process workers run them; rundramatiq finds them itself)
from documents import lifecycle
from exora.settings.storage import s3_storage
from processing import files, options, queue
from processing.engine.inline import process_file
from processing.engine.results import DocumentJson
from processing.lanes import QUEUES
from processing.pipeline import StartDocument


@pytest.fixture(autouse=True)
def fresh_estimates() -> None:
    """Each test's estimates (page times, the wait of a new upload) come from its own rows."""
    queue.forget_estimates()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", password="correct-horse-battery")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("mallory", password="correct-horse-battery")


def signed_in(user) -> Client:
    """A browser session signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def web_client(user) -> Client:
    return signed_in(user)


@pytest.fixture
def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def s3_bucket(settings: Any) -> Iterator[str]:
    """A bucket of this test's own on the S3 server, as the default storage; fails (never skips)
    when the server does not answer."""
    client = boto3.client("s3", endpoint_url=settings.EXORA_S3_ENDPOINT_URL, region_name=settings.EXORA_S3_REGION)
    bucket = f"exora-test-{uuid.uuid4().hex[:12]}"
    try:
        client.create_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as problem:
        pytest.fail(
            f"S3 at {settings.EXORA_S3_ENDPOINT_URL} is unreachable ({problem}); "
            "start it with `scripts/services.sh s3`",
            pytrace=False,
        )
    settings.EXORA_STORAGE, settings.EXORA_S3_BUCKET = "s3", bucket
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(bucket)}
    yield bucket
    for listed in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for stored in listed.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=stored["Key"])
    client.delete_bucket(Bucket=bucket)


def bucket_keys(bucket: str) -> set[str]:
    """Every object's name in the bucket."""
    client = boto3.client("s3", endpoint_url=os.environ["EXORA_S3_ENDPOINT_URL"])
    return {
        o["Key"] for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in p.get("Contents", [])
    }


@pytest.fixture
def stub_broker() -> StubBroker:
    broker = dramatiq.get_broker()
    assert isinstance(broker, StubBroker), "tests expect EXORA_BROKER=stub"
    broker.flush_all()
    return broker


@contextlib.contextmanager
def running_worker(broker: StubBroker) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker in this process, reading the stub broker with two threads."""
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def stub_worker(stub_broker, transactional_db):
    with running_worker(stub_broker) as worker:
        yield worker


def drain(broker: StubBroker) -> None:
    """Wait until every queue is empty and nothing is running (stages enqueue more stages)."""
    with_delayed = [*QUEUES, *(f"{q}.DQ" for q in QUEUES)]  # retries wait in the delay queues
    while any(broker.queues[q].unfinished_tasks for q in with_delayed if q in broker.queues):
        for name in QUEUES:
            if name in broker.queues:
                broker.join(name, fail_fast=True)


def start_document(document_id: object) -> list[int]:
    """The start step, as a worker runs it: the numbers of the pages it planned to read."""
    step = StartDocument(str(document_id))
    step.run()
    return step.to_read


def read_file(path: Path, mime_type: str, ocr_mode: str | None = None) -> DocumentJson:
    """A whole file read inline, with the service's options, as `manage.py process` reads it."""
    return process_file(path, mime_type, options.read_options(ocr_mode), options.file_limits())


def source_file(document_id: object, scratch: Path) -> Path:
    """The file a worker reads for the document, on this host's disk (processing.files)."""
    source = lifecycle.source_of(str(document_id))
    assert source is not None, "the document is finished or gone"
    return files.cached_source(source.name_to_read, source.sha256_to_read, scratch)
