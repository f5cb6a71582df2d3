"""The roles apart: one worker host takes only the documents queue (starting and extracting),
another only the page lanes (OCR), as the OCR fleet is scaled apart from the rest."""

import pytest

from processing import identity, lanes
from processing.models import Attempt
from tests.e2e.fleet.hosts import assert_read_once_each, upload_scans

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("fleet", ["rabbitmq"], indirect=True)
def test_pages_go_to_the_ocr_host_and_the_rest_to_the_documents_host(fleet, web, api, s3_bucket, e2e_processes):
    # GIVEN a host of `runworkers --queues documents` and one of the page lanes only
    logs = e2e_processes.logs
    fleet.worker_host("documents-host", queues=(lanes.DOCUMENTS_QUEUE,)).start()
    fleet.worker_host("ocr-host", queues=lanes.PAGE_QUEUES).start()

    # WHEN a four-page scan is uploaded
    [document_id] = upload_scans(api, documents=1, pages=4)
    api.wait_until_finished(document_id, e2e_processes, timeout=240)

    # THEN it was started and extracted on the documents host, and its pages read on the OCR host
    nodes: dict[str, set[str]] = {}
    for attempt in Attempt.objects.filter(job__document_id=document_id):
        nodes.setdefault(attempt.stage, set()).add(identity.node_of(attempt.worker))
    assert nodes == {
        Attempt.Stage.START: {"documents-host"},
        Attempt.Stage.PAGE: {"ocr-host"},
        Attempt.Stage.EXTRACT: {"documents-host"},
    }, logs()
    assert_read_once_each([document_id], s3_bucket, logs)
