"""Who may see the operators' pages and /metrics, and what the health probes tell anyone."""

from typing import Any

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "s3cret-scrape-token"


def test_the_dashboard_sends_anonymous_people_to_sign_in():
    # GIVEN nobody signed in WHEN they open /ops/ and its live figures
    page = Client().get("/ops/")
    live = Client().get("/ops/live.json")
    # THEN both send them to the sign-in page
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert live.status_code == 302


def test_the_dashboard_refuses_people_who_are_not_staff(web_client):
    # GIVEN a signed-in person who is not staff
    # WHEN they open the dashboard, its live figures, or try an operator action
    responses = [
        web_client.get("/ops/"),
        web_client.get("/ops/live.json"),
        web_client.post("/ops/failures/retry/", {"stage": "page", "error_class": "OSError"}),
        web_client.post("/ops/alerts/1/acknowledge/"),
    ]
    # THEN every one is refused
    assert [r.status_code for r in responses] == [403, 403, 403, 403]


def test_staff_see_the_dashboard_and_its_live_figures(operator_client):
    # GIVEN an operator WHEN they open the dashboard and poll it
    page = operator_client.get("/ops/")
    live = operator_client.get("/ops/live.json")
    # THEN the page has every section, and the poll returns them rendered with the figures
    assert page.status_code == 200
    for section in ("ops-alerts", "ops-queues", "ops-workers", "ops-throughput", "ops-failures", "ops-capacity"):
        assert f'id="{section}"' in page.content.decode()
    body = live.json()
    assert 'id="ops-throughput"' in body["html"] and "<svg" in body["html"]
    assert {"queues", "workers", "throughput", "timings", "capacity", "failures"} <= body["figures"].keys()
    # AND the nav bar links staff to it
    assert 'href="/ops/"' in page.content.decode()


def test_metrics_are_refused_to_anonymous_people_and_to_members(web_client):
    # GIVEN no token configured WHEN anonymous people, members, or a made-up bearer token ask
    anonymous = Client().get("/metrics")
    member = web_client.get("/metrics")
    guessed = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    # THEN all are refused, and nothing is measured for them
    for response in (anonymous, member, guessed):
        assert response.status_code == 401
        assert b"exora_" not in response.content


def test_metrics_for_staff_sessions(operator_client):
    response = operator_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"exora_queue_messages" in response.content or b"exora_broker_up 0.0" in response.content


@override_settings(EXORA_METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_with_the_bearer_token_and_not_with_another():
    # GIVEN a scrape token WHEN a scraper sends it, a wrong one, or the right one in the wrong scheme
    right = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}x")
    basic = Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {METRICS_TOKEN}")
    # THEN only the right token in a bearer header is let in
    assert right.status_code == 200
    assert b"# TYPE exora_workers gauge" in right.content
    assert wrong.status_code == 401 and basic.status_code == 401


def test_health_probes_answer_without_auth_and_without_details():
    healthz = Client().get("/healthz")
    readyz = Client().get("/readyz")
    assert (healthz.status_code, healthz.content) == (200, b"ok\n")
    assert (readyz.status_code, readyz.content) == (200, b"ready\n")


def test_health_probes_answer_a_probe_by_address_and_nothing_else_does():
    # GIVEN a probe that names the process by an address in no ALLOWED_HOSTS (Kubernetes)
    pod: dict[str, Any] = {"HTTP_HOST": "10.0.3.7:8000"}  # WSGI environ, for Client.get(**extra)
    # WHEN it asks for the probes, and for a page
    healthz = Client().get("/healthz", **pod)
    readyz = Client().get("/readyz", **pod)
    page = Client().get("/accounts/login/", **pod)
    # THEN the probes answer, and the page is still refused for its host
    assert (healthz.status_code, healthz.content) == (200, b"ok\n")
    assert (readyz.status_code, readyz.content) == (200, b"ready\n")
    assert page.status_code == 400


def test_readyz_says_not_ready_without_saying_why(monkeypatch):
    # GIVEN a database that does not answer
    from dashboard import views

    monkeypatch.setattr(views, "_database_answers", lambda: False)
    # WHEN the probe asks THEN it is told "not ready", and nothing about what or where
    response = Client().get("/readyz")
    assert (response.status_code, response.content) == (503, b"not ready\n")
