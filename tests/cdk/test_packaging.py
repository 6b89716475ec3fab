"""stacks.packaging: which interpreter builds the bytecode, what makes a build stale, and app.py
refreshing a stale build before it synthesises."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path

import pytest

import app as cdk_app
from stacks import packaging
from tests.cdk.host_build import HostBuild
from tests.cdk.synth import environment

VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path, path: Path) -> None:
    monkeypatch.delenv(packaging.PYTHON_ENV, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(path))


def test_a_python_on_the_path_that_does_not_run_is_passed_over_for_pyenvs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / f"python{VERSION}"
    shim.write_text("#!/bin/sh\necho 'pyenv: version not selected' >&2\nexit 127\n")
    shim.chmod(0o755)
    installed = tmp_path / "home" / ".pyenv" / "versions" / f"{VERSION}.9" / "bin" / f"python{VERSION}"
    installed.parent.mkdir(parents=True)
    installed.symlink_to(sys.executable)
    _isolate(monkeypatch, tmp_path / "home", shims)
    assert packaging.find_python(VERSION) == str(installed)


def test_no_python_of_the_version_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch, tmp_path, tmp_path)
    with pytest.raises(
        packaging.LambdaPythonNotFound, match=r"install python3\.99 .* or set PLUTOMI_LAMBDA_PYTHON"
    ):
        packaging.find_python("3.99")


def test_the_configured_python_must_run_and_be_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(packaging.PYTHON_ENV, sys.executable)
    assert packaging.find_python(VERSION) == sys.executable
    with pytest.raises(
        packaging.LambdaPythonNotFound, match=f"is Python {VERSION}; the functions run Python 3.99"
    ):
        packaging.find_python("3.99")
    monkeypatch.setenv(packaging.PYTHON_ENV, str(tmp_path / "python-nowhere"))
    with pytest.raises(packaging.LambdaPythonNotFound, match="does not run"):
        packaging.find_python(VERSION)


def test_the_sources_hash_follows_contents_and_paths_not_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    before = packaging.tree_sha256(tmp_path)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-313.pyc").write_bytes(b"\0")
    assert packaging.tree_sha256(tmp_path) == before
    (tmp_path / "pkg" / "a.py").write_text("A = 2\n")
    changed = packaging.tree_sha256(tmp_path)
    assert changed != before
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert packaging.tree_sha256(tmp_path) != changed


def test_app_main_rebuilds_what_is_stale_then_synthesises_without_errors(
    tmp_path: Path, host_build: HostBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = tmp_path / "lambda"
    shutil.copytree(host_build.build_dir, build, ignore=shutil.ignore_patterns("var-runtime*"))
    packaging.stamp_path(build, packaging.FUNCTIONS_ASSET).unlink()  # as if a build was cut short
    shutil.rmtree(build / packaging.FUNCTIONS_ASSET / "api")
    monkeypatch.setattr("stacks.base.LAMBDA_BUILD_DIR", build)
    monkeypatch.setattr("stacks.base.LAMBDA_TARGET", host_build.target)
    monkeypatch.setenv(packaging.PYTHON_ENV, host_build.python)
    stderr = io.StringIO()
    with environment({"CDK_OUTDIR": str(tmp_path / "cdk.out")}), contextlib.redirect_stderr(stderr):
        cdk_app.main()
    assert "building functions" in stderr.getvalue()
    assert "building dependencies-layer" not in stderr.getvalue()
    assert "error:" not in stderr.getvalue(), stderr.getvalue()
    assert (build / "functions" / "api" / "__pycache__").is_dir()
    assert packaging.stale_assets(build, host_build.target) == {}


def test_app_main_without_the_runtimes_python_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stacks.base.LAMBDA_BUILD_DIR", tmp_path / "lambda")
    monkeypatch.setenv(packaging.PYTHON_ENV, str(tmp_path / "no-python-here"))
    with pytest.raises(
        SystemExit, match=f"cannot build the Lambda assets: {packaging.PYTHON_ENV}=.* does not run"
    ):
        cdk_app.main()
    assert not (tmp_path / "lambda").exists()
