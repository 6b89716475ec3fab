"""The K3S manifests: generated from the topology and current, rendered for every overlay, complete
(every consumer tier its Deployment, every SQS consumer its poller, every scheduled function its
CronJob), each Deployment probed and under a PodDisruptionBudget, fenced by NetworkPolicies, free of
secrets, production's image pinned by digest, and valid for Kubernetes (`kubernetes-validate
--strict`, offline, with its bundled schemas)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import generate
from plutomi.config import load_settings
from plutomi.topology import SCHEDULED, SQS_CONSUMERS, all_tiers
from tests.support.kustomize import Manifest, pod_specs, render
from tests.support.secret_values import secret_looking_values

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(path for path in (K8S / "overlays").iterdir() if (path / "kustomization.yaml").exists())
RENDERINGS = [K8S / "base", *OVERLAYS]
# The oldest Kubernetes the README promises (K3S v1.30) and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30.0", None]


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    return [c for spec in pod_specs(manifest) for c in spec["containers"]]


def the_container(manifest: Manifest) -> dict[str, Any]:
    (only,) = containers(manifest)
    return only


def step(manifest: Manifest) -> str | None:
    found: str | None = manifest["metadata"].get("labels", {}).get("plutomi.dev/step")
    return found


def assert_liveness_outlasts_outages(main: dict[str, Any]) -> None:
    """Liveness tolerates a NATS or MongoDB outage far longer than readiness does."""
    live, ready = main["livenessProbe"], main["readinessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 120
    assert (
        live["periodSeconds"] * live["failureThreshold"]
        > 4 * ready["periodSeconds"] * ready["failureThreshold"]
    )


def rendered(path: Path) -> list[Manifest]:
    return render(path)


def assert_worker_probes(main: dict[str, Any], what: str) -> None:
    """A bridge, the relay or a poller: ready while connected (/healthz), alive while its loop comes
    round (/livez), both on the probe port the command serves."""
    assert main["args"][main["args"].index("--probe-port") + 1] == str(generate.BRIDGE_PROBE_PORT), what
    assert main["ports"] == [
        {"name": "probe", "containerPort": generate.BRIDGE_PROBE_PORT, "protocol": "TCP"}
    ]
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "probe"}, what
    assert main["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "probe"}, what


def test_the_base_is_what_the_generator_writes_from_the_topology() -> None:
    wanted = generate.files()
    present = {path.name for path in (K8S / "base").glob("*.yaml")}
    assert present == set(wanted), "run .venv/bin/python k8s/generate.py"
    for name, text in wanted.items():
        assert (K8S / "base" / name).read_text() == text, f"k8s/base/{name} is stale: run k8s/generate.py"
    check = subprocess.run(
        [sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_there_are_staging_and_production_overlays() -> None:
    assert {path.name for path in OVERLAYS} >= {"staging", "production"}


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_every_consumer_tier_has_its_deployment_and_every_schedule_its_cronjob(path: Path) -> None:
    manifests = rendered(path)
    deployments = by_kind(manifests, "Deployment")
    bridges = {
        tuple(the_container(d)["args"]): d
        for d in deployments.values()
        if the_container(d)["args"][0] == "bridge"
    }
    tiers = [tier for tier in all_tiers() if tier.function]
    probe_port = str(generate.BRIDGE_PROBE_PORT)
    expected = {("bridge", "--consumer", tier.durable, "--probe-port", probe_port) for tier in tiers}
    assert set(bridges) == expected
    for tier in tiers:
        deployment = bridges[("bridge", "--consumer", tier.durable, "--probe-port", probe_port)]
        spec = pod_specs(deployment)[0]
        # SIGTERM: the bridge finishes the batch in flight and the one fetched ahead (each up to the
        # ack wait) before Kubernetes may kill it.
        assert spec["terminationGracePeriodSeconds"] > 2 * tier.ack_wait_seconds, tier.durable
        assert_worker_probes(the_container(deployment), tier.durable)
    relays = [d for d in deployments.values() if the_container(d)["args"][0] == "relay"]
    assert len(relays) == 1
    assert_worker_probes(the_container(relays[0]), "relay")

    # SES feedback on K3S: the poller reads the queue the configuration set's SNS topic feeds.
    (poller,) = [d for d in deployments.values() if the_container(d)["args"][:2] == ["ses", "poll"]]
    main = the_container(poller)
    assert_worker_probes(main, "poller")
    wait = int(main["args"][main["args"].index("--wait-seconds") + 1])
    assert 1 <= wait <= 20  # long polling, within SQS's bound
    handler_seconds = max(consumer.timeout_seconds for consumer in SQS_CONSUMERS)
    assert pod_specs(poller)[0]["terminationGracePeriodSeconds"] > wait + handler_seconds
    config = by_kind(manifests, "ConfigMap")["plutomi-config"]["data"]
    assert config["PLUTOMI_SES_CONFIGURATION_SET"] and config["PLUTOMI_SES_FEEDBACK_QUEUE"]

    cronjobs = by_kind(manifests, "CronJob")
    assert len(cronjobs) == len(SCHEDULED)
    for job in SCHEDULED:
        (cronjob,) = [c for c in cronjobs.values() if the_container(c)["args"][:2] == ["job", job.function]]
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        every = job.every_minutes
        assert cronjob["spec"]["schedule"] == ("* * * * *" if every == 1 else f"*/{every} * * * *")
        args = the_container(cronjob)["args"]
        assert args[2] == "--event" and args[3].startswith("/app/")
        assert (ROOT / args[3].removeprefix("/app/")).is_file(), "the image copies events/ to /app/events"
        assert pod_specs(cronjob)[0]["restartPolicy"] == "Never"

    (migrate,) = by_kind(manifests, "Job").values()
    assert the_container(migrate)["args"] == ["migrate"]
    # A deploy applies `-l plutomi.dev/step=migrate` first: the Job and the ConfigMap it reads, no more.
    first = {(m["kind"], m["metadata"]["name"]) for m in manifests if step(m) == "migrate"}
    assert first == {("ConfigMap", "plutomi-config"), ("Job", "plutomi-migrate")}


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_the_gateway_has_probes_a_budget_and_an_autoscaler(path: Path) -> None:
    manifests = rendered(path)
    gateway = by_kind(manifests, "Deployment")["plutomi-gateway"]
    main = the_container(gateway)
    assert main["args"][:1] == ["gateway"] and "--workers" in main["args"]
    port = int(main["args"][main["args"].index("--port") + 1])
    assert main["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert_liveness_outlasts_outages(main)
    assert "replicas" not in gateway["spec"], "the autoscaler owns the gateway's replicas"
    grace = pod_specs(gateway)[0]["terminationGracePeriodSeconds"]
    assert grace > 30 + int(main["lifecycle"]["preStop"]["exec"]["command"][1])  # preStop + graceful

    selector = gateway["spec"]["selector"]["matchLabels"]
    service = by_kind(manifests, "Service")["plutomi-gateway"]
    assert service["spec"]["selector"] == selector
    assert (
        by_kind(manifests, "PodDisruptionBudget")["plutomi-gateway"]["spec"]["selector"]["matchLabels"]
        == selector
    )
    hpa = by_kind(manifests, "HorizontalPodAutoscaler")["plutomi-gateway"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "plutomi-gateway"}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]

    config = by_kind(manifests, "ConfigMap")["plutomi-config"]["data"]
    assert config["PLUTOMI_GATEWAY_RELAY"] == "off", "the relay has its own Deployment"


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_every_workload_is_sized_configured_and_holds_no_secret(path: Path) -> None:
    manifests = rendered(path)
    assert not by_kind(manifests, "Secret"), "Secrets are created by hand, never kept in k8s/"
    assert secret_looking_values(manifests, path.name) == []
    workloads = [m for m in manifests if pod_specs(m)]
    assert workloads
    selectors = []
    for workload in workloads:
        spec = pod_specs(workload)[0]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert set(container["resources"]) == {"requests", "limits"}, workload["metadata"]["name"]
            assert {"configMapRef": {"name": "plutomi-config"}} in container["envFrom"]
            env = {item["name"]: item for item in container["env"]}
            for key in ("MONGODB_URL", "PLUTOMI_SESSION_SECRET"):
                assert "value" not in env[key] and env[key]["valueFrom"]["secretKeyRef"]["key"] == key
            # NATS with credentials: NATS_URL in the Secret wins over the ConfigMap's plain one.
            assert env["NATS_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": "plutomi-secrets",
                "key": "NATS_URL",
                "optional": True,
            }
        if workload["kind"] == "Deployment":
            selector = workload["spec"]["selector"]["matchLabels"]
            assert workload["spec"]["template"]["metadata"]["labels"] == selector
            selectors.append(tuple(sorted(selector.items())))
    assert len(selectors) == len(set(selectors)), "two Deployments select the same pods"
    if path.parent.name == "overlays":
        namespaces = {m["metadata"].get("namespace") for m in manifests}
        assert len(namespaces) == 1 and None not in namespaces
        images = {c["image"] for workload in workloads for c in containers(workload)}
        assert len(images) == 1 and images != {generate.IMAGE}, "one image, named by the overlay"


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_every_deployment_has_a_disruption_budget_and_no_pod_a_service_account_token(path: Path) -> None:
    manifests = rendered(path)
    budgets = by_kind(manifests, "PodDisruptionBudget")
    deployments = by_kind(manifests, "Deployment")
    assert len(budgets) == len(deployments)
    for name, deployment in deployments.items():
        budget = budgets[name]["spec"]
        assert budget["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"], name
        # One pod at a time, and a drain of a single-replica Deployment is never blocked for good.
        assert budget == {"maxUnavailable": 1, "selector": budget["selector"]}, name
    for workload in (m for m in manifests if pod_specs(m)):
        assert pod_specs(workload)[0]["automountServiceAccountToken"] is False, workload["metadata"]["name"]


def selects(policy: Manifest, pod_labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(pod_labels.get(key) == value for key, value in wanted.items())


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_network_policies_let_only_the_gateway_take_traffic_and_every_pod_talk_out_to_its_services(
    path: Path,
) -> None:
    manifests = rendered(path)
    policies = list(by_kind(manifests, "NetworkPolicy").values())
    assert policies
    out = {
        (port["protocol"], port["port"])
        for policy in policies
        for rule in policy["spec"].get("egress", [])
        for port in rule["ports"]
    }
    assert out == {
        ("UDP", generate.DNS_PORT), ("TCP", generate.DNS_PORT), ("TCP", generate.NATS_PORT),
        ("TCP", generate.MONGODB_PORT), ("TCP", generate.HTTPS_PORT),
    }  # fmt: skip
    nats_rules = [
        rule
        for policy in policies
        for rule in policy["spec"].get("egress", [])
        if {"protocol": "TCP", "port": generate.NATS_PORT} in rule["ports"]
    ]
    assert nats_rules == [
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nats"}}}],
            "ports": nats_rules[0]["ports"],
        }
    ], "NATS: the Helm release's pods only"
    config = by_kind(manifests, "ConfigMap")["plutomi-config"]["data"]
    assert config["NATS_URL"].endswith(f":{generate.NATS_PORT}")
    for workload in (m for m in manifests if pod_specs(m)):
        name = workload["metadata"]["name"]
        pod_labels = (
            workload["spec"].get("template") or workload["spec"]["jobTemplate"]["spec"]["template"]
        )["metadata"]["labels"]
        mine = [policy for policy in policies if selects(policy, pod_labels)]
        # Isolated both ways: at least one policy names Ingress and Egress for it.
        types = {kind for policy in mine for kind in policy["spec"]["policyTypes"]}
        assert types == {"Ingress", "Egress"}, name
        ingress = [rule for policy in mine for rule in policy["spec"].get("ingress", [])]
        if name == "plutomi-gateway":
            port = the_container(workload)["ports"][0]["containerPort"]
            assert ingress == [{"ports": [{"protocol": "TCP", "port": port}]}]
        else:
            # Nothing comes in; kubelet probes come from the node, which NetworkPolicy always allows.
            assert ingress == [], name


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_stream_replicas_are_a_valid_setting_in_every_rendering(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = by_kind(rendered(path), "ConfigMap")["plutomi-config"]["data"]
    monkeypatch.setenv("PLUTOMI_STREAM_REPLICAS", config["PLUTOMI_STREAM_REPLICAS"])
    replicas = load_settings().stream_replicas
    assert replicas == (3 if path.name == "production" else 1)  # production: a three-server NATS cluster


@pytest.mark.parametrize("path", RENDERINGS, ids=lambda p: p.name)
def test_every_rendering_names_the_documents_bucket_and_sweeps_unconfirmed_uploads(path: Path) -> None:
    """No lifecycle rule is sure off AWS (R2's cannot filter by tag), so the upload sweeper's CronJob
    deletes expired unconfirmed uploads; GuardDuty exists on AWS S3 only, so scanning is off."""
    manifests = rendered(path)
    config = by_kind(manifests, "ConfigMap")["plutomi-config"]["data"]
    assert config["PLUTOMI_DOCUMENTS_BUCKET"].startswith("plutomi-")
    assert config["PLUTOMI_MALWARE_SCANNING"] == "off"
    # Unset means AWS S3; an empty value would be an endpoint of "".
    assert config.get("AWS_ENDPOINT_URL_S3", "unset").strip()
    sweeper = by_kind(manifests, "CronJob")["plutomi-upload-sweeper"]
    assert sweeper["spec"]["schedule"] == "*/5 * * * *"
    assert the_container(sweeper)["args"][:2] == ["job", "scheduled.upload_sweeper"]


DIGEST = re.compile(r"^[a-z0-9./-]+@sha256:[0-9a-f]{64}$")


def test_production_pins_its_image_by_digest_and_no_mutable_tag() -> None:
    production = K8S / "overlays" / "production"
    (image,) = yaml.safe_load((production / "kustomization.yaml").read_text())["images"]
    assert image["name"] == generate.IMAGE and "newTag" not in image
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"])
    images = {c["image"] for m in rendered(production) for c in containers(m)}
    assert len(images) == 1 and all(DIGEST.match(name) for name in images), images


def test_the_digest_check_can_fail() -> None:
    assert not DIGEST.match("registry.example.com/plutomi:0.1.0")
    assert not DIGEST.match("registry.example.com/plutomi:0.1.0@sha256:" + "0" * 63)


def test_the_image_runs_python_3_13_and_says_why_it_has_no_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE) == ["python:3.13-slim-bookworm"]
    assert "HEALTHCHECK" in dockerfile
    if not re.search(r"^HEALTHCHECK ", dockerfile, flags=re.MULTILINE):
        assert "Kubernetes ignores it" in dockerfile, "no HEALTHCHECK without the reason"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: v or "latest")
def test_every_rendering_passes_kubernetes_validate_strict(version: str | None, tmp_path: Path) -> None:
    files, documents = [], 0
    for path in RENDERINGS:
        manifests = rendered(path)
        documents += len(manifests)
        target = tmp_path / f"{path.name}.yaml"
        target.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
        files.append(str(target))
    validator = Path(sys.executable).with_name("kubernetes-validate")
    command = [str(validator), "--strict", *(["-k", version] if version else []), *files]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" passed for resource ") == documents, done.stdout  # each one checked


def test_kubernetes_validate_strict_catches_what_it_should(tmp_path: Path) -> None:
    """The check above can fail: an unknown field in a Deployment is refused."""
    gateway = by_kind(rendered(K8S / "base"), "Deployment")["plutomi-gateway"]
    gateway["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}  # a typo
    target = tmp_path / "typo.yaml"
    target.write_text(yaml.safe_dump(gateway))
    validator = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(validator), "--strict", "--quiet", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "livenessprobe" in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
def test_the_renderer_agrees_with_kubectl_kustomize(path: Path) -> None:
    done = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    theirs = [m for m in yaml.safe_load_all(done.stdout) if m]
    key = lambda m: (m["kind"], m["metadata"]["name"])  # noqa: E731
    assert sorted(rendered(path), key=key) == sorted(theirs, key=key)
