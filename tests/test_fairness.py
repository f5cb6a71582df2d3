"""Fairness and lanes: a small document does not wait for a large one, priority goes first."""

import time

import dramatiq
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from documents import lifecycle
from documents.models import Document
from processing.models import Job, Page
from tests.conftest import drain
from tests.factories import born_digital_pdf


def upload(client, name: str, pages: int):
    pdf = born_digital_pdf([[f"{name} page {n} of {pages}"] for n in range(1, pages + 1)])
    response = client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, pdf)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def one_slot_worker(broker) -> dramatiq.Worker:
    return dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)


def test_small_document_finishes_before_the_tenth_page_of_a_large_one(
    api_client, stub_broker, transactional_db, settings
):
    # GIVEN one worker slot, each document keeping one page in the queue at a time
    settings.EXORA_DOCUMENT_WINDOW = 1
    settings.EXORA_BULK_PAGES = 1000  # both in the standard lane: this is about the window
    # AND a 300-page document, then a 1-page one, uploaded before the worker starts
    large = upload(api_client, "large.pdf", 300)
    small = upload(api_client, "small.pdf", 1)

    # WHEN the worker runs until the small one is done
    worker = one_slot_worker(stub_broker)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while Document.objects.get(id=small.id).status != Document.Status.COMPLETED:
            assert time.monotonic() < deadline, "the small document never completed"
            time.sleep(0.05)
        large_pages_read = Page.objects.filter(document=large, status=Page.Status.DONE).count()
        lifecycle.document_cancel(large.id, large.owner)  # no need to read the other pages
        drain(stub_broker)
    finally:
        worker.stop()

    # THEN the small document completed before the large one's 10th page
    assert large_pages_read < 10, large_pages_read


def test_priority_lane_goes_before_standard(api_client, user, stub_broker, transactional_db, settings):
    # GIVEN a standard document of 6 pages already queued, and a priority user's document after it
    settings.EXORA_DOCUMENT_WINDOW = 6
    standard = upload(api_client, "standard.pdf", 6)
    vip = type(user).objects.create_user("vera", password="correct-horse-battery")
    vip.groups.add(Group.objects.get_or_create(name=settings.EXORA_PRIORITY_GROUP)[0])
    api_client.force_authenticate(vip)
    urgent = upload(api_client, "urgent.pdf", 1)
    assert (standard.job.lane, Job.objects.get(document=urgent).lane) == ("standard", "priority")

    # WHEN one worker slot reads everything
    worker = one_slot_worker(stub_broker)
    worker.start()
    try:
        drain(stub_broker)
    finally:
        worker.stop()

    # THEN the priority page was read before most of the standard document
    urgent_done = Page.objects.get(document=urgent).done_at
    read_before = Page.objects.filter(document=standard, done_at__lt=urgent_done).count()
    assert read_before <= 2, read_before
    assert Document.objects.get(id=standard.id).status == Document.Status.COMPLETED


def test_large_or_many_documents_go_to_the_bulk_lane(api_client, settings, stub_broker):
    # GIVEN limits of 5 pages and 3 waiting documents
    settings.EXORA_BULK_PAGES = 5
    settings.EXORA_BULK_DOCUMENTS = 3
    # WHEN a 6-page document, then three small ones, are uploaded
    lanes = [upload(api_client, "big.pdf", 6).job.lane]
    lanes += [upload(api_client, f"small-{n}.pdf", 1).job.lane for n in range(3)]
    # THEN the large one and the third waiting one go to bulk
    assert lanes == ["bulk", "standard", "bulk", "bulk"]
