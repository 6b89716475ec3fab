"""Two synthesised variants of the CDK app, each built once per session:

- `staging`: nothing but cdk.json's defaults, no AWS credentials, no built dependencies layer, and
  canary secret values in the environment (which must never reach a template);
- `production`: every context key set, and a built dependencies layer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdk.synth import Synth, synthesize

# Values that look like the real secrets. If the app read them from the environment into a template,
# the no-secrets test finds them.
CANARY_MONGODB_URL = "mongodb+srv://canary-user:canary-password-4f1d@cluster0.canary.mongodb.net/plutomi"
CANARY_SESSION_SECRET = "canary-session-secret-7c2a9e"

PRODUCTION_CONTEXT = {
    "stage": "production",
    "domain": "acme-hiring.test",
    "sender": "Acme Hiring <jobs@acme-hiring.test>",
    "mongodb_secret_name": "acme/prod/mongodb",
    "session_secret_name": "acme/prod/session",
    "nats_url": "nats://nats.acme-hiring.internal:4222",
    "base_url": "https://api.acme-hiring.test/",
    "bridge_principal": "arn:aws:iam::210987654321:role/plutomi-bridge-task",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "account": "123456789012",
    "region": "eu-west-1",
}


@pytest.fixture(scope="session")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    root = tmp_path_factory.mktemp("cdk-staging")
    return synthesize(
        root / "cdk.out",
        {},
        built_dependencies=root / "no-dependencies-layer-built",
        env={"MONGODB_URL": CANARY_MONGODB_URL, "PLUTOMI_SESSION_SECRET": CANARY_SESSION_SECRET},
    )


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    root = tmp_path_factory.mktemp("cdk-production")
    built = root / "dependencies-layer"
    (built / "python" / "canary_dependency").mkdir(parents=True)
    (built / "python" / "canary_dependency" / "__init__.py").write_text("VERSION = '1'\n")
    return synthesize(root / "cdk.out", PRODUCTION_CONTEXT, built_dependencies=built)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
