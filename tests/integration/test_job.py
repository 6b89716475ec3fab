"""`plutomi job FUNCTION --event FILE|-`: any handler, run once as a Kubernetes Job would run it. The
exit status is what Kubernetes reads, so it must say whether the handler failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plutomi.runtime.embedded import free_port
from plutomi.runtime.functions import failure_of

ROOT = Path(__file__).resolve().parents[2]


def run_job(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plutomi.runtime.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ) | (env or {}),
        cwd=ROOT,
        check=False,
    )


def result_of(done: subprocess.CompletedProcess[str]) -> Any:
    """The handler's result: the last line of standard output, after the handler's own log lines."""
    return json.loads(done.stdout.splitlines()[-1])


def nobody_listens() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        ({"statusCode": 200, "body": "{}"}, False),
        ({"statusCode": 404, "body": "{}"}, False),  # a client error is the handler doing its job
        ({"statusCode": 500, "body": "{}"}, True),
        ({"statusCode": 503, "body": "{}"}, True),
        ({"statusCode": "502", "body": "{}"}, True),
        ({"batchItemFailures": []}, False),
        ({"batchItemFailures": [{"itemIdentifier": "m-1"}]}, True),
        ({"due": 3, "moved": 3, "skipped": 0}, False),
        (None, False),
    ],
)
def test_failure_is_judged_as_aws_would(result: Any, failed: bool) -> None:
    assert (failure_of(result) is not None) is failed


def test_failure_names_the_records_that_failed() -> None:
    reason = failure_of({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    assert reason == "2 record(s) failed: m-1, m-2"


def test_a_scheduled_function_runs_once_and_exits_zero(services: dict[str, str]) -> None:
    done = run_job("job", "scheduled.idle_sweeper", "--event", "events/scheduled/idle_sweeper.json")
    assert done.returncode == 0, done.stderr
    assert set(result_of(done)) == {"due", "moved", "skipped"}


def test_a_healthy_api_function_exits_zero(services: dict[str, str]) -> None:
    done = run_job("job", "api.health", "--event", "events/api/health.json")
    assert done.returncode == 0, done.stderr
    assert result_of(done)["statusCode"] == 200


def test_an_api_answer_of_5xx_fails_the_job(services: dict[str, str]) -> None:
    # NATS is nowhere: /health answers 503 (degraded), which is a failure for a Job.
    env = {"NATS_URL": f"nats://{nobody_listens()}", "PLUTOMI_NATS_TIMEOUT_SECONDS": "1"}
    done = run_job("job", "api.health", "--event", "events/api/health.json", env=env)
    assert done.returncode == 1
    assert result_of(done)["statusCode"] == 503
    assert "plutomi job api.health: failed: the handler answered 503" in done.stderr
    # The same call through `invoke` prints the result and succeeds: invoke is for looking.
    looked = run_job("invoke", "api.health", "--event", "events/api/health.json", env=env)
    assert looked.returncode == 0 and json.loads(looked.stdout)["statusCode"] == 503


def test_a_batch_with_failed_records_fails_the_job(services: dict[str, str]) -> None:
    generated = run_job("event", "sqs", "--body", "not an event envelope")
    assert generated.returncode == 0, generated.stderr
    done = run_job("job", "consumers.notifications", "--event", "-", stdin=generated.stdout)
    assert done.returncode == 1
    failures = result_of(done)["batchItemFailures"]
    assert len(failures) == 1
    assert f"failed: 1 record(s) failed: {failures[0]['itemIdentifier']}" in done.stderr


def test_a_handler_that_raises_fails_the_job_with_its_error(services: dict[str, str]) -> None:
    # The store is nowhere: the sweeper's query raises once the server selection times out (3 s).
    env = {"MONGODB_URL": f"mongodb://{nobody_listens()}"}
    done = run_job("job", "scheduled.idle_sweeper", "--event", "events/scheduled/idle_sweeper.json", env=env)
    assert done.returncode == 1
    assert "plutomi job scheduled.idle_sweeper: failed: ServerSelectionTimeoutError" in done.stderr
    assert "Traceback" in done.stderr and done.stdout == ""


def test_unknown_functions_and_bad_events_are_refused(tmp_path: Path) -> None:
    unknown = run_job("job", "scheduled.nope", "--event", "events/scheduled/idle_sweeper.json")
    assert unknown.returncode != 0 and "no function 'scheduled.nope'" in unknown.stderr
    not_an_object = run_job("job", "api.health", "--event", "-", stdin="[1, 2]")
    assert not_an_object.returncode != 0 and "must be a JSON object" in not_an_object.stderr
    missing = run_job("job", "api.health")
    assert missing.returncode == 2 and "--event" in missing.stderr
