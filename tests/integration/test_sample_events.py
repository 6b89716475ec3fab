"""Every function has a sample event under events/, and invoking it with that event works."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plutomi import bootstrap
from plutomi.entrypoints.headers import CACHE_FOREVER, HSTS
from plutomi.runtime.functions import invoke
from plutomi.topology import WITHOUT_DATABASE, all_functions

ROOT = Path(__file__).resolve().parents[2]


def sample_event_path(function: str) -> Path:
    return ROOT / "events" / f"{function.replace('.', '/')}.json"


@pytest.mark.parametrize("function", all_functions())
def test_every_function_has_a_sample_event_that_invokes(services: dict[str, str], function: str) -> None:
    path = sample_event_path(function)
    assert path.exists(), f"add a sample event for {function} at {path.relative_to(ROOT)}"
    result = invoke(function, json.loads(path.read_text()))
    if function.startswith(("api.", "web.")):
        assert_served(function, result)
        assert result["headers"]["Content-Type"].startswith(
            ("application/json", "text/html", "text/javascript")
        )
        # As Lambda answers API Gateway: the security headers come from the handler itself.
        assert result["headers"]["X-Content-Type-Options"] == "nosniff"
        # Only the versioned static files may be cached; everything else carries personal data.
        assert result["headers"]["Cache-Control"] == (
            CACHE_FOREVER if function == "web.static" else "no-store"
        )
        assert "frame-ancestors 'none'" in result["headers"]["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in result["headers"]
        over_https = json.loads(path.read_text())
        over_https["headers"] = {
            **over_https["headers"],
            "x-forwarded-proto": "https",
        }  # as API Gateway sends
        assert invoke(function, over_https)["headers"]["Strict-Transport-Security"] == HSTS
    else:
        assert_served(function, result)


def assert_served(function: str, result: Any) -> None:
    """What a function of each kind answers when it served its sample event."""
    if function.startswith(("api.", "web.")):
        assert 200 <= result["statusCode"] < 500, result
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
    "scheduled.dead_letter_depth": {"depth"},
    "scheduled.upload_sweeper": {"expired", "deleted"},
}


@pytest.mark.parametrize("function", sorted(WITHOUT_DATABASE))
def test_the_functions_said_to_need_no_database_serve_without_one(
    services: dict[str, str], function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They get no reserved concurrency (stacks/settings.py), so they must never build the MongoDB pool."""

    def no_database() -> None:
        raise AssertionError(f"{function} built the dependencies, and with them a MongoDB pool")

    monkeypatch.setattr(bootstrap, "_dependencies", None)
    monkeypatch.setattr(bootstrap, "_build", no_database)
    result = invoke(function, json.loads(sample_event_path(function).read_text()))
    assert result["statusCode"] == 200, result


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


def test_event_sns_is_spelt_as_lambda_spells_its_sns_records() -> None:
    """Lambda's SNS record (its SNS event docs), not the JSON SNS delivers to SQS (`SigningCertURL`)."""
    printed = run_cli("event", "sns", "--message", "hi", "--subject", "Hello", "--attribute", "kind=test")
    assert printed.returncode == 0, printed.stderr
    (record,) = json.loads(printed.stdout)["Records"]
    sns = record["Sns"]
    assert set(sns) == {
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes",
    }  # fmt: skip
    assert (sns["Message"], sns["Subject"]) == ("hi", "Hello")
    assert sns["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}
    assert sns["UnsubscribeUrl"].endswith(f"SubscriptionArn={record['EventSubscriptionArn']}")
    without_subject = json.loads(run_cli("event", "sns").stdout)["Records"][0]["Sns"]
    assert (without_subject["Subject"], without_subject["MessageAttributes"]) == (None, {})
    refused = run_cli("event", "sns", "--attribute", "no-equals-sign")
    assert refused.returncode == 2 and "is not name=value" in refused.stderr


def test_event_sqs_fills_md5_of_body() -> None:
    printed = run_cli("event", "sqs", "--body", '{"a": 1}', "--body", "plain text")
    assert printed.returncode == 0, printed.stderr
    records = json.loads(printed.stdout)["Records"]
    # As SQS computes it: the hex MD5 of the body's UTF-8 bytes (`printf %s 'plain text' | md5sum`).
    assert [r["md5OfBody"] for r in records] == [
        "42b7b4f2921788ea14dac5566e6f06d0",
        "31bc5c2b8fd4f20cd747347b7504a385",
    ]


def test_sample_sqs_events_carry_their_bodies_md5() -> None:
    for path in sorted((ROOT / "events").rglob("*.json")):
        records = json.loads(path.read_text()).get("Records") or []
        for record in records:
            if record.get("eventSource") == "aws:sqs":
                expected = hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
                assert record["md5OfBody"] == expected, path.relative_to(ROOT)
