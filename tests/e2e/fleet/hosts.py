"""Several hosts on one machine, sharing nothing but the engines (PostgreSQL, Redis or RabbitMQ,
S3), and what the tests ask of them.

Every process of a host runs in a mount namespace of its own (`unshare --mount`), where a
private tmpfs covers the hosts' data root, which holds its temporary dir: a host sees its own data
dir, cache and temporary files and nobody else's, while the code and the engines, reached over
the network, are the same for all. A host is killed whole by killing its process group.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from documents.models import Document
from processing import identity
from processing.models import Attempt, Page
from tests.conftest import bucket_keys
from tests.e2e.conftest import BIN_DIR, ApiClient, E2EProcesses, ManagedProcess, WebServer, WorkerPool
from tests.factories import scanned_pdf

# Each host mounts its own tmpfs here: the same path on every host, a different disk for each.
HOST_ROOT = Path("/var/lib/exora-host")
# Every host of the fleet signs sessions with the same key (exora/settings/fleet.py).
FLEET_SECRET_KEY = "fleet-test-secret-key-shared-by-every-host-of-the-test"


def in_a_host_of_its_own(args: list[str]) -> list[str]:
    """`args`, run in a mount namespace with a private data root (data, cache, temporary dir).
    Not a tmpfs over /tmp itself: a checkout (and its virtualenv) may live there."""
    script = (
        # The mount point itself is an empty folder of the machine's (made once, by the first host).
        f"mkdir -p {HOST_ROOT} && mount -t tmpfs -o size=4g,mode=0700 exora-host {HOST_ROOT} && "
        f'mkdir -p {HOST_ROOT}/data {HOST_ROOT}/cache {HOST_ROOT}/tmp && exec "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "host", *args]


@dataclass
class Fleet:
    """The hosts of one test: what each runs, and the environment they share."""

    env: dict[str, str]
    processes: E2EProcesses
    broker: str  # redis or rabbitmq
    database: str  # the test database's name

    def host_env(self, node: str, **extra: str) -> dict[str, str]:
        return {
            **self.env,
            "EXORA_NODE_NAME": node,
            "EXORA_DATA_DIR": str(HOST_ROOT / "data"),
            "EXORA_CACHE_DIR": str(HOST_ROOT / "cache"),
            "TMPDIR": str(HOST_ROOT / "tmp"),
            "EXORA_SECRET_KEY": FLEET_SECRET_KEY,
            "EXORA_STORAGE": "s3",
            **extra,
        }

    def web_host(self, node: str) -> WebServer:
        """The web server on a host of its own, serving the static files it collected itself."""
        env = self.host_env(node)

        def launch(web: list[str]) -> list[str]:
            collect = f"{BIN_DIR}/python manage.py collectstatic --noinput -v 0"
            return in_a_host_of_its_own(["sh", "-c", f'{collect} && exec "$@"', "web", *web])

        server = WebServer(env, self.processes.log_dir, self.processes, launcher=launch, name=f"web {node}")
        server.start()
        return server

    def worker_host(self, node: str, processes: int = 1, queues: tuple[str, ...] = ()) -> WorkerPool:
        """`manage.py runworkers` (of `queues` only, when given) on a host of its own, not started."""
        env = self.host_env(node, EXORA_WORKERS=str(processes))
        only = ["--queues", *queues] if queues else []
        args = in_a_host_of_its_own([f"{BIN_DIR}/python", "manage.py", "runworkers", *only])
        log = self.processes.log_dir / f"worker-{node}.log"
        process = self.processes.add(ManagedProcess(f"workers {node}", args, env, log))
        return WorkerPool(process, processes, self.processes)


def upload_scans(api: ApiClient, documents: int, pages: int) -> list[str]:
    ids = []
    for n in range(1, documents + 1):
        lines = [[f"Host test record {n} page {p} read once"] for p in range(1, pages + 1)]
        status, body = api.upload(f"record-{n}.pdf", scanned_pdf(lines, height_in=1.0))
        assert status == 201, body
        ids.append(body["id"])
    return ids


def wait_for(condition, timeout: float, what: str, logs):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n\n{logs()}")
        time.sleep(0.2)
    return found


def all_finished(ids: list[str]) -> bool:
    return not Document.objects.filter(id__in=ids).exclude(status__in=Document.FINISHED).exists()


def held_by(node: str) -> list[Page]:
    running = Page.objects.filter(status=Page.Status.RUNNING).exclude(lease_owner="")
    return [page for page in running if identity.node_of(page.lease_owner) == node]


def assert_read_once_each(ids: list[str], bucket: str, logs, killed_node: str = "") -> None:
    """Every document completed, every page stored once: its own text, one image in the bucket,
    and no crash counted against it.

    A host killed whole may have put a page's image in the bucket and died before recording it:
    that image is an orphan for the daily sweep (documents.retention), allowed only for the pages
    the killed host was still reading."""
    images = {key for key in bucket_keys(bucket) if "/pages/" in key}
    for document in Document.objects.filter(id__in=ids):
        assert document.status == Document.Status.COMPLETED, f"{document.error}\n{logs()}"
        pages = list(Page.objects.filter(document=document).order_by("number"))
        assert document.pages_done == document.page_count == len(pages)
        for page in pages:
            assert page.status == Page.Status.DONE and page.crash_count == 0, page
            assert f"page {page.number} read once" in page.text
            assert page.image.name in images
        recorded = {str(page.image.name) for page in pages}
        unrecorded = [key for key in images if f"documents/{document.id}/" in key and key not in recorded]
        cut_short = _pages_cut_short(str(document.id), killed_node)
        assert all(_page_number_of(key) in cut_short for key in unrecorded), (unrecorded, cut_short)


def _pages_cut_short(document_id: str, node: str) -> set[int]:
    """The pages a host was reading when it died: attempts of its processes with no outcome."""
    if not node:
        return set()
    open_attempts = Attempt.objects.filter(job__document_id=document_id, stage=Attempt.Stage.PAGE, outcome="")
    return {a.page_number for a in open_attempts if a.page_number and identity.node_of(a.worker) == node}


def _page_number_of(image_key: str) -> int:
    """documents/<id>/pages/00003-<random>.jpg -> 3 (processing.pages names them so)."""
    return int(image_key.rsplit("/", 1)[1].split("-", 1)[0])
