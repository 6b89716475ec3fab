"""The K3S manifests: generated from the topology and current, rendered for every overlay, complete
(every consumer tier its Deployment, every scheduled function its CronJob), free of secrets, and
valid for Kubernetes (`kubernetes-validate --strict`, offline, with its bundled schemas)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import generate
from plutomi.topology import SCHEDULED, all_tiers
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
        main = the_container(deployment)
        assert main["ports"] == [
            {"name": "probe", "containerPort": generate.BRIDGE_PROBE_PORT, "protocol": "TCP"}
        ]
        for probe in ("readinessProbe", "livenessProbe"):
            assert main[probe]["httpGet"] == {"path": "/healthz", "port": "probe"}, tier.durable
        assert_liveness_outlasts_outages(main)
    relays = [d for d in deployments.values() if the_container(d)["args"] == ["relay"]]
    assert len(relays) == 1

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
