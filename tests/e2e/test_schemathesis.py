"""The API against its own OpenAPI schema (schemathesis), on a real server, as two people: no
request schemathesis makes up gets a 500, and no answer to one person reveals the other's
document; every route that takes a document's id answers 404 for the other's."""

import json
import uuid

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from documents.models import Document
from tests.e2e.conftest import ApiClient, WebServer
from tests.factories import api_token, png

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = 15  # per operation, mode and person: bounded, so the test takes a minute or two
NOT_FUZZED = ("/api/v1/auth/logout/",)  # it revokes the token the run signs with


@pytest.fixture
def api_server(e2e_env, e2e_processes):
    """The web server, with throttles far above what the run sends (429s would hide answers)."""
    env = {**e2e_env, "EXORA_API_READS_PER_MINUTE": "1000000", "EXORA_API_UPLOADS_PER_HOUR": "1000000"}
    server = WebServer(env, e2e_processes.log_dir, e2e_processes)
    server.start()
    yield server
    server.stop()


def person(name: str, server: WebServer) -> tuple[str, dict]:
    """A person with a token and one document of theirs (queued: no worker runs here)."""
    token = api_token(get_user_model().objects.create_user(name, password="correct-horse-battery"))
    status, body = ApiClient(server.base_url, token).upload(f"{name}-{uuid.uuid4().hex[:8]}-private.png", png([name]))
    assert status == 201, body
    return token, body


def made_up_requests(operation, base_url: str, headers: dict[str, str], secrets: tuple[str, ...], who: str) -> None:
    """Run schemathesis' made-up requests for one operation, and check each answer."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
    def made_up(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        # THEN none is a server error, and none shows the other person's document
        where = f"{case.method} {case.formatted_path} {who}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
        assert not any(s in response.text for s in secrets), f"{where} revealed the other's document"

    made_up()


def test_no_made_up_request_errors_or_reveals_the_other_persons_document(api_server):
    # GIVEN two people, each with a document, and the schema the server serves them
    people = {name: person(name, api_server) for name in ("alice", "bob")}
    status, raw = ApiClient(api_server.base_url, people["alice"][0]).request("GET", "/api/schema/?format=json")
    assert status == 200
    schema = schemathesis.openapi.from_dict(json.loads(raw))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # a part of the schema schemathesis cannot read
        operations.append(result.ok())
    assert {op.path for op in operations} >= {"/api/v1/documents/", "/api/v1/documents/{id}/result/"}

    for name, (token, _own) in people.items():
        other = next(body for who, (_, body) in people.items() if who != name)
        secrets = (other["id"], other["original_name"], other["sha256"])
        headers = {"Authorization": f"Token {token}"}
        for operation in operations:
            if operation.path in NOT_FUZZED:
                continue

            # WHEN schemathesis makes up requests, valid and not, as this person
            made_up_requests(operation, api_server.base_url, headers, secrets, f"as {name}")

            # AND every route that takes an id answers 404 for the other person's document
            if "{id}" in operation.path:
                path = operation.path.replace("{id}", other["id"])
                response = ApiClient(api_server.base_url, token).request(operation.method.upper(), path)
                assert response[0] == 404, f"{operation.method} {path} as {name}: {response}"

    # AND both documents are still there (DELETE of the other's did nothing)
    assert Document.objects.filter(id__in=[body["id"] for _, body in people.values()]).count() == 2
