"""The Lambda assets built for this machine, so the tests can run them as Lambda would.

stacks.packaging builds for Lambda's arm64 platform; here the dependencies layer is built for this
machine (the host) instead, by the runtime's Python (3.13) when one is found, else by the tests'
own interpreter. It sits under build/lambda-host, where a current build is reused (stamps, as for
build/lambda), so only the first run pays for pip. `var-runtime` stands in for Lambda's own
/var/runtime, which provides boto3: the layers do not ship it, and the venv's must not be used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stacks import packaging
from stacks.base import LAMBDA_TARGET

HOST_BUILD_DIR = packaging.ROOT / "build" / "lambda-host"


@dataclass(frozen=True)
class HostBuild:
    python: str
    target: packaging.Target
    build_dir: Path

    @property
    def var_runtime(self) -> Path:
        return self.build_dir / "var-runtime"


def host_python() -> str:
    try:
        return packaging.find_python(LAMBDA_TARGET.python_version)
    except packaging.LambdaPythonNotFound:
        return sys.executable


def build_for_host(build_dir: Path = HOST_BUILD_DIR) -> HostBuild:
    python = host_python()
    version = packaging.python_version_of([python])
    assert version, f"{python} does not run"
    build = HostBuild(python, packaging.Target(version, None), build_dir)
    packaging.ensure_built(build_dir, build.target, python=python)
    return build


def ensure_var_runtime(build: HostBuild) -> Path:
    """boto3 for the host build's Python, installed once (a stamp names the Python it is for)."""
    stamp = build.build_dir / "var-runtime.stamp.json"
    wanted = {"python_version": build.target.python_version, "python": build.python}
    if build.var_runtime.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return build.var_runtime
    stamp.unlink(missing_ok=True)
    options = ["--disable-pip-version-check", "-q", "--only-binary=:all:", "--upgrade"]
    subprocess.run(
        [build.python, "-m", "pip", "install", *options, "--target", str(build.var_runtime), "boto3"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [build.python, "-m", "compileall", "-q", "-j", "0", str(build.var_runtime)],
        check=True,
        capture_output=True,
    )
    stamp.write_text(json.dumps(wanted))
    return build.var_runtime
