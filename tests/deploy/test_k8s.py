"""deploy/k8s/ validates against the Kubernetes schemas offline (kubernetes-validate, no
cluster) and holds what the operator relies on: probes, replicas, one worker per queue,
one beat, the autoscalers, the network policy."""

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]
    return docs


def by_kind_and_name() -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in manifests()}


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("doc", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_validates_against_the_schemas(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    web = copy.deepcopy(by_kind_and_name()[("Deployment", "web")])
    web["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)
    web = copy.deepcopy(by_kind_and_name()[("Deployment", "web")])
    web["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def _container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_web_has_three_replicas_the_seeds_resources_and_both_probes():
    web = by_kind_and_name()[("Deployment", "web")]
    assert web["spec"]["replicas"] == 3
    container = _container(web)
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {"name": "http", "containerPort": 8000} in container["ports"]
    assert "deploy/gunicorn.conf.py" in container["command"]
    multiproc = {e["name"]: e["value"] for e in container["env"]}["PROMETHEUS_MULTIPROC_DIR"]
    assert multiproc in [m["mountPath"] for m in container["volumeMounts"]]


def test_one_worker_deployment_per_queue_and_exactly_one_beat():
    found = by_kind_and_name()
    for queue in settings.TASK_QUEUES:
        worker = found[("Deployment", f"worker-{queue}")]
        command = _container(worker)["command"]
        assert command[command.index("-Q") + 1] == queue
        assert worker["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9808"
    beat = found[("Deployment", "beat")]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert ("HorizontalPodAutoscaler", "beat") not in found


def test_flower_needs_auth_and_migrations_run_as_a_job():
    found = by_kind_and_name()
    flower = found[("Deployment", "flower")]
    assert "FLOWER_BASIC_AUTH" in found[("Secret", "energy-forecast-secrets")]["stringData"]
    assert {"secretRef": {"name": "energy-forecast-secrets"}} in _container(flower)["envFrom"]
    assert not any(doc["kind"] == "Ingress" and "flower" in str(doc["spec"]) for doc in manifests())
    job = found[("Job", "migrate")]
    assert _container(job)["command"][-2:] == ["migrate", "--noinput"]


def test_autoscalers_target_web_and_the_inference_workers():
    found = by_kind_and_name()
    targets = {
        doc["spec"]["scaleTargetRef"]["name"]: doc
        for doc in manifests()
        if doc["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(targets) == {"web", "worker-inference"}
    assert targets["web"]["spec"]["minReplicas"] == 3
    for name in targets:
        assert ("Deployment", name) in found


def test_network_policy_lets_only_the_ingress_reach_web_and_only_the_app_reach_data():
    policies = {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "NetworkPolicy"}
    deny = policies["default-deny-ingress"]["spec"]
    assert (
        deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    )
    web = policies["web-from-ingress"]["spec"]
    assert web["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    (rule,) = web["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    app_pods = {"app.kubernetes.io/part-of": "energy-forecast"}
    for name, port in (("postgresql-from-app", 5432), ("redis-from-app", 6379)):
        (rule,) = policies[name]["spec"]["ingress"]
        assert rule["from"] == [{"podSelector": {"matchLabels": app_pods}}]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    # Every pod of the app carries the label those rules admit.
    for doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/part-of"] == "energy-forecast", doc["metadata"]


def test_the_ingress_sends_everything_to_web_and_limits_the_token_endpoint():
    ingresses = {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "Ingress"}
    token = ingresses["web-token"]
    assert token["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rpm"] == "10"
    assert token["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/api/v1/auth/token/"
    for ingress in ingresses.values():
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "web", "port": {"name": "http"}}


def test_a_nightly_job_backs_up_to_its_own_volume():
    cron = by_kind_and_name()[("CronJob", "backup")]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert command[:3] == ["python", "manage.py", "backup"]
    output = command[command.index("--output") + 1]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts[output.rstrip("/")] == "backups"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
