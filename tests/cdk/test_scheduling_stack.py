"""Scheduled handlers: an EventBridge rule per entry of SCHEDULED; the idle sweeper every minute."""

from __future__ import annotations

from plutomi.topology import SCHEDULED
from stacks.base import handler_of
from tests.cdk.synth import Synth, functions_by_handler, get_att_arn, resources

SWEEPER_HANDLER = "scheduled/idle_sweeper.handler"


def _rule_targeting(synth: Synth, function_id: str) -> tuple[str, dict[str, object]]:
    matches = [
        (logical_id, rule["Properties"])
        for logical_id, rule in resources(synth.scheduling, "AWS::Events::Rule").items()
        if any(target["Arn"] == get_att_arn(function_id) for target in rule["Properties"]["Targets"])
    ]
    assert len(matches) == 1, matches
    return matches[0]


def test_the_idle_sweeper_runs_every_minute(staging: Synth) -> None:
    assert SWEEPER_HANDLER in {handler_of(job.function) for job in SCHEDULED}
    function_id, function = functions_by_handler(staging.scheduling)[SWEEPER_HANDLER]
    _, rule = _rule_targeting(staging, function_id)
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["State"] == "ENABLED"
    # A run ends before the next one starts.
    assert isinstance(function["Timeout"], int) and function["Timeout"] < 60


def test_every_scheduled_function_has_its_rule_and_nothing_else_runs_here(staging: Synth) -> None:
    functions = functions_by_handler(staging.scheduling)
    assert sorted(functions) == sorted(handler_of(job.function) for job in SCHEDULED)
    assert len(resources(staging.scheduling, "AWS::Events::Rule")) == len(SCHEDULED)
    for job in SCHEDULED:
        function_id, _ = functions[handler_of(job.function)]
        _, rule = _rule_targeting(staging, function_id)
        unit = "minute" if job.every_minutes == 1 else "minutes"
        assert rule["ScheduleExpression"] == f"rate({job.every_minutes} {unit})"


def test_eventbridge_may_invoke_the_sweeper_from_its_rule_only(staging: Synth) -> None:
    function_id, _ = functions_by_handler(staging.scheduling)[SWEEPER_HANDLER]
    rule_id, _ = _rule_targeting(staging, function_id)
    permissions = [
        value["Properties"] for value in resources(staging.scheduling, "AWS::Lambda::Permission").values()
    ]
    assert [
        (permission["Principal"], permission["SourceArn"])
        for permission in permissions
        if permission["FunctionName"] == get_att_arn(function_id)
    ] == [("events.amazonaws.com", get_att_arn(rule_id))]


def test_a_failed_sweep_is_not_retried_the_next_one_does_the_work(staging: Synth) -> None:
    function_id, _ = functions_by_handler(staging.scheduling)[SWEEPER_HANDLER]
    configs = [
        value["Properties"]
        for value in resources(staging.scheduling, "AWS::Lambda::EventInvokeConfig").values()
        if value["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert [config["MaximumRetryAttempts"] for config in configs] == [0]
