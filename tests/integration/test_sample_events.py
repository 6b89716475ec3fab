"""Every function has a sample event under events/, and invoking it with that event works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plutomi.entrypoints.headers import HSTS
from plutomi.runtime.functions import invoke
from plutomi.topology import all_functions

ROOT = Path(__file__).resolve().parents[2]


def sample_event_path(function: str) -> Path:
    return ROOT / "events" / f"{function.replace('.', '/')}.json"


@pytest.mark.parametrize("function", all_functions())
def test_every_function_has_a_sample_event_that_invokes(services: dict[str, str], function: str) -> None:
    path = sample_event_path(function)
    assert path.exists(), f"add a sample event for {function} at {path.relative_to(ROOT)}"
    result = invoke(function, json.loads(path.read_text()))
    if function.startswith("api."):
        assert 200 <= result["statusCode"] < 500, result
        assert result["headers"]["Content-Type"].startswith(("application/json", "text/html"))
        # As Lambda answers API Gateway: the security headers come from the handler itself.
        assert result["headers"]["X-Content-Type-Options"] == "nosniff"
        assert result["headers"]["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in result["headers"]["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in result["headers"]
        over_https = json.loads(path.read_text())
        over_https["headers"] = {
            **over_https["headers"],
            "x-forwarded-proto": "https",
        }  # as API Gateway sends
        assert invoke(function, over_https)["headers"]["Strict-Transport-Security"] == HSTS
    elif function.startswith("consumers."):
        assert result == {"batchItemFailures": []}
    elif function.startswith("deploy."):  # a CloudFormation custom resource's answer
        assert result["PhysicalResourceId"], result
    else:
        assert set(result) == SCHEDULED_RESULTS[function], result


# What each scheduled function reports.
SCHEDULED_RESULTS = {
    "scheduled.idle_sweeper": {"due", "moved", "skipped"},
    "scheduled.org_purge_sweeper": {"tombstones", "finished", "unfinished", "deleted"},
}


def test_no_sample_event_without_a_function() -> None:
    samples = {str(p.relative_to(ROOT / "events").with_suffix("")) for p in (ROOT / "events").rglob("*.json")}
    assert samples == {f.replace(".", "/") for f in all_functions()}


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plutomi.runtime.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        cwd=ROOT,
        check=False,
    )


def test_invoke_cli_reads_a_file_or_stdin_like_sam(services: dict[str, str]) -> None:
    from_file = run_cli("invoke", "api.health", "--event", "events/api/health.json")
    assert from_file.returncode == 0, from_file.stderr
    result = json.loads(from_file.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["checks"] == {"store": "ok", "events": "ok"}

    generated = run_cli(
        "event", "http", "--method", "POST", "--path", "/auth/totp", "--body", '{"email": "not-an-email"}'
    )
    assert generated.returncode == 0, generated.stderr
    from_stdin = run_cli("invoke", "api.auth", "--event", "-", stdin=generated.stdout)
    assert from_stdin.returncode == 0, from_stdin.stderr
    answer = json.loads(from_stdin.stdout)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "invalid_email"


def test_invoke_cli_refuses_unknown_functions_and_bad_events(tmp_path: Path) -> None:
    unknown = run_cli("invoke", "api.nope", "--event", "events/api/health.json")
    assert unknown.returncode != 0 and "no function 'api.nope'" in unknown.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    bad = run_cli("invoke", "api.health", "--event", str(broken))
    assert bad.returncode != 0 and "is not JSON" in bad.stderr


@pytest.mark.parametrize(
    ("source", "key"),
    [
        (["sqs", "--body", "{}"], "Records"),
        (["sns", "--message", "hi"], "Records"),
        (["schedule"], "detail-type"),
    ],
)
def test_event_cli_prints_aws_shaped_events(source: list[str], key: str) -> None:
    printed = run_cli("event", *source)
    assert printed.returncode == 0, printed.stderr
    assert key in json.loads(printed.stdout)
