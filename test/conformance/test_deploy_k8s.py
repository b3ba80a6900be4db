"""deploy/k8s/ validated offline against the Kubernetes API schemas that `kubernetes-validate` ships.

Strict mode: an unknown or misspelt field is an error, not silently dropped as `kubectl apply` would
with a lenient schema. Not a reference comparison like the rest of this suite; it lives here because
this is the Python environment .ci/run builds.
"""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
#: the newest Kubernetes release whose schemas the pinned kubernetes-validate ships
VERSION = kubernetes_validate.latest_version()

MANIFESTS = sorted(K8S.glob("*.yaml"))
EXPECTED_KINDS = {"Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim", "HorizontalPodAutoscaler", "ConfigMap", "NetworkPolicy", "Ingress"}


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def test_schemas_are_current() -> None:
    major, minor = (int(x) for x in VERSION.split(".")[:2])
    assert (major, minor) >= (1, 34), VERSION


def test_every_kind_is_there() -> None:
    kinds = {d["kind"] for p in MANIFESTS for d in documents(p)}
    assert kinds == EXPECTED_KINDS


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid(path: Path) -> None:
    docs = documents(path)
    assert docs, f"{path.name} holds no resource"
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_rejects_a_broken_deployment() -> None:
    """The check above can fail: a misspelt probe field and a string port count are refused."""
    (deployment,) = documents(K8S / "deployment.yaml")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/ready"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, VERSION, strict=True)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, VERSION, strict=True)
