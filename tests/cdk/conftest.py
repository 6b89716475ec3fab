"""Two synthesised variants of the CDK app, each built once per session:

- `staging`: nothing but cdk.json's defaults, no AWS credentials, no Lambda assets built, and
  canary secret values in the environment (which must never reach a template);
- `production`: every context key set, and the Lambda assets built (for this machine: see
  host_build.py, whose build the stacks are told is current).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdk.host_build import HostBuild, build_for_host
from tests.cdk.synth import CANARY_MONGODB_URL, CANARY_SESSION_SECRET, PRODUCTION_CONTEXT, Synth, synthesize


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
def host_build() -> HostBuild:
    return build_for_host()


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory, host_build: HostBuild) -> Synth:
    root = tmp_path_factory.mktemp("cdk-production")
    return synthesize(
        root / "cdk.out",
        PRODUCTION_CONTEXT,
        built_dependencies=host_build.build_dir,
        lambda_target=host_build.target,
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
