"""300 people upload at the same moment to the real web server (`runweb`, two processes), which
reaches PostgreSQL as a role whose connection limit is lowered for the test: no upload ends
in a 500; each is taken, or refused with its reason and when to try again, and a client that
tries again gets in."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from documents.models import Document
from tests.e2e.conftest import WebServer
from tests.factories import api_token, born_digital_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENTS = 300
ROLE = "exora_burst"
ROLE_CONNECTION_LIMIT = 12  # the server refuses this role a 13th connection
POOL_SIZE = 4  # per web process: 2 x 4 = 8, under the role's limit
WEB_PROCESSES = 2


@pytest.fixture
def limited_role(e2e_env) -> Iterator[str]:
    """A role that may open at most ROLE_CONNECTION_LIMIT connections (a superuser has no limit),
    with the rights the service needs on the test database: its DATABASE_URL."""
    database = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cursor.execute(f"CREATE ROLE {ROLE} LOGIN CONNECTION LIMIT {ROLE_CONNECTION_LIMIT}")
        cursor.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {ROLE}')
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    parts = urllib.parse.urlsplit(e2e_env["DATABASE_URL"])
    yield urllib.parse.urlunsplit(parts._replace(netloc=f"{ROLE}@{parts.hostname}:{parts.port or 5432}"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [ROLE])
        cursor.execute(f"DROP OWNED BY {ROLE}")
        cursor.execute(f"DROP ROLE {ROLE}")


class ConnectionWatch(threading.Thread):
    """The most connections the role held at once, sampled every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stopping = threading.Event()
        params = connection.get_connection_params()
        self.dsn = {k: v for k, v in params.items() if k in ("host", "port", "user", "dbname", "password")}

    def run(self) -> None:
        with psycopg.connect(**self.dsn, autocommit=True) as watcher:
            while not self.stopping.is_set():
                row = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (ROLE,)).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                time.sleep(0.05)


def post_upload(base_url: str, token: str, name: str, pdf: bytes) -> tuple[int, dict, str | None]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base_url}/api/v1/documents/",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {"raw": raw[:300].decode(errors="replace")}
        return error.code, answer, error.headers.get("Retry-After")


def test_300_uploads_at_once_get_no_500_and_every_one_gets_in(e2e_env, e2e_processes, limited_role):
    # GIVEN the web server as the role with a lowered connection limit, 4 pooled connections
    # per process, waiting at most 2 s for one
    env = {
        **e2e_env,
        "DATABASE_URL": limited_role,
        "EXORA_DB_POOL_SIZE": str(POOL_SIZE),
        "EXORA_DB_POOL_TIMEOUT_SECONDS": "2",
        "EXORA_API_UPLOADS_PER_HOUR": "100",
    }
    server = WebServer(env, e2e_processes.log_dir, e2e_processes, processes=WEB_PROCESSES)
    server.start()
    # AND 300 people, each with a token and a one-page PDF of their own
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"burst-{n}") for n in range(CLIENTS)])
    tokens = [api_token(user) for user in users]
    pdfs = [born_digital_pdf([[f"Burst record {n}", uuid.uuid4().hex]]) for n in range(CLIENTS)]
    watch = ConnectionWatch()
    watch.start()

    # WHEN all of them upload at the same moment, and those told to come back do so
    start_together = threading.Barrier(CLIENTS)

    def client(n: int) -> list[tuple[int, dict, str | None]]:
        start_together.wait()
        answers = [post_upload(server.base_url, tokens[n], f"burst-{n}.pdf", pdfs[n])]
        while answers[-1][0] in (429, 503) and len(answers) < 20:
            time.sleep(float(answers[-1][2] or 1))
            answers.append(post_upload(server.base_url, tokens[n], f"burst-{n}.pdf", pdfs[n]))
        return answers

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(client, range(CLIENTS)))
    watch.stopping.set()
    watch.join()

    # THEN no answer was a 500 (or anything but taken or "come back"), and every refusal said
    # why and when to try again
    statuses = Counter(status for tries in answers for status, _, _ in tries)
    logs = e2e_processes.logs
    assert set(statuses) <= {201, 429, 503}, f"{statuses}\n{logs()}"
    for tries in answers:
        for status, body, retry_after in tries:
            if status != 201:
                assert body.get("detail") and retry_after and int(retry_after) > 0, (status, body, retry_after)
    # AND every client got in, with one document each
    assert [tries[-1][0] for tries in answers] == [201] * CLIENTS, f"{statuses}\n{logs()}"
    owners = Counter(Document.objects.filter(owner__username__startswith="burst-").values_list("owner", flat=True))
    assert len(owners) == CLIENTS and set(owners.values()) == {1}
    # AND the role's connections never passed the pools' sizes
    assert 0 < watch.peak <= WEB_PROCESSES * POOL_SIZE, watch.peak
    print(f"\nanswers: {dict(statuses)}; connections at peak {watch.peak}")
