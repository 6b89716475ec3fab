"""The alarms and the topic they notify: every function's errors and throttles, the SES feedback DLQ,
each consumer's JetStream DLQ (the metric `scheduled.dead_letter_depth` publishes), the HTTP API's
5xx rate and latency; and reserved concurrency for the functions that open a MongoDB pool."""

from __future__ import annotations

from typing import Any

import pytest

from plutomi.topology import (
    CONSUMERS,
    DEAD_LETTER_DEPTH_METRIC,
    METRICS_NAMESPACE,
    WITHOUT_DATABASE,
    all_functions,
    database_functions,
)
from stacks import alarms
from stacks.base import handler_of
from tests.cdk.synth import Synth, functions_by_handler, get_att_arn, only, resources, template_json

ALARM = "AWS::CloudWatch::Alarm"


def _alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties, over every stack."""
    found: dict[str, dict[str, Any]] = {}
    for template in synth.templates().values():
        for alarm in resources(template, ALARM).values():
            name = alarm["Properties"]["AlarmName"]
            assert name not in found, f"two alarms named {name}"
            found[name] = alarm["Properties"]
    return found


def _topic_arn_by_name(name: str) -> dict[str, Any]:
    """How a stack other than the email stack names the alarm topic: by its fixed name, no export."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sns:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{name}",
            ],
        ]
    }


def _alarm_topic_id(synth: Synth) -> str:
    topics = {
        logical_id: topic["Properties"]
        for logical_id, topic in resources(synth.email, "AWS::SNS::Topic").items()
        if topic["Properties"]["TopicName"] == "plutomi-staging-alarms"
    }
    assert len(topics) == 1, sorted(topics)
    return next(iter(topics))


def test_the_alarm_topic_is_encrypted_with_its_own_key_that_cloudwatch_may_use(staging: Synth) -> None:
    topic_id = _alarm_topic_id(staging)
    topic = template_json(staging.email)["Resources"][topic_id]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template_json(staging.email)["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"  # not alias/aws/sns, which CloudWatch may not use
    assert key["Properties"]["EnableKeyRotation"] is True
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": "*",
        "Sid": "CloudWatchAlarmsPublishToTheTopic",
    } in key["Properties"]["KeyPolicy"]["Statement"]
    staging.email.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": "alias/plutomi-staging-alarms", "TargetKeyId": get_att_arn(key_id)},
    )


def test_the_alarm_topic_takes_tls_only_and_this_accounts_alarms(staging: Synth) -> None:
    topic_id = _alarm_topic_id(staging)
    [policy] = [
        p["Properties"]
        for p in resources(staging.email, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    statements = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}
    tls = statements["AllowPublishThroughSSLOnly"]
    assert (tls["Effect"], tls["Principal"], tls["Condition"]) == (
        "Deny",
        "*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    cloudwatch = statements["CloudWatchAlarmsOfThisAccount"]
    assert cloudwatch["Effect"] == "Allow" and cloudwatch["Action"] == "sns:Publish"
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source[2] == ":cloudwatch:" and source[-1] == ":alarm:*"


def test_the_alarm_email_subscribes_or_synth_says_nobody_will_hear(staging: Synth, production: Synth) -> None:
    subscriptions = resources(staging.email, "AWS::SNS::Subscription").values()
    assert [s["Properties"]["Protocol"] for s in subscriptions] == ["sqs"]  # the feedback queue only
    assert alarms.ALARM_EMAIL_UNSET in " ".join(staging.warnings)

    topic_id = next(
        logical_id
        for logical_id, topic in resources(production.email, "AWS::SNS::Topic").items()
        if topic["Properties"]["TopicName"] == "plutomi-production-alarms"
    )
    production.email.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "oncall@acme-hiring.test", "TopicArn": {"Ref": topic_id}},
    )
    assert not any(alarms.ALARM_EMAIL_UNSET in warning for warning in production.warnings)


def test_every_function_has_an_errors_and_a_throttles_alarm_to_the_topic(staging: Synth) -> None:
    found = _alarms(staging)
    topic_id = _alarm_topic_id(staging)
    by_name = _topic_arn_by_name("plutomi-staging-alarms")
    functions = 0
    for stack, template in staging.templates().items():
        for handler, (function_id, _) in functions_by_handler(template).items():
            functions += 1
            for metric in ("Errors", "Throttles"):
                matching = [
                    props
                    for props in found.values()
                    if props.get("MetricName") == metric
                    and props.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
                ]
                assert len(matching) == 1, (stack, handler, metric)
                [alarm] = matching
                assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == ("AWS/Lambda", "Sum", 300)
                assert alarm["Threshold"] == 1
                assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
                # No invocations, no datapoints: that is no error.
                assert alarm["TreatMissingData"] == "notBreaching"
                expected = {"Ref": topic_id} if stack == "email" else by_name
                assert alarm["AlarmActions"] == [expected], (stack, handler)
    assert functions == len(all_functions())
    assert "plutomi-staging-api-orgs-errors" in found
    assert "plutomi-staging-scheduled-dead-letter-depth-throttles" in found


def test_the_ses_feedback_dlq_alarms_on_any_visible_message(staging: Synth) -> None:
    dlq_id = next(
        logical_id
        for logical_id, queue in resources(staging.email, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == "plutomi-staging-ses-feedback-dlq"
    )
    alarm = _alarms(staging)["plutomi-staging-ses-feedback-dlq-not-empty"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"  # SQS stops reporting an idle, empty queue
    assert alarm["AlarmActions"] == [{"Ref": _alarm_topic_id(staging)}]


def test_each_consumers_dlq_alarms_on_the_metric_the_depth_function_publishes(staging: Synth) -> None:
    _, depth_function = functions_by_handler(staging.scheduling)[handler_of("scheduled.dead_letter_depth")]
    variables = depth_function["Environment"]["Variables"]
    found = _alarms(staging)
    for consumer in CONSUMERS:
        alarm = found[f"plutomi-staging-dlq-{consumer.name}-not-empty"]
        assert (alarm["Namespace"], alarm["MetricName"]) == (METRICS_NAMESPACE, DEAD_LETTER_DEPTH_METRIC)
        # Exactly the dimensions the function's EMF lines carry (tests/integration/test_dead_letter_depth.py).
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "consumer": consumer.name,
            "stage": variables["PLUTOMI_ENV"],
            "service": variables["POWERTOOLS_SERVICE_NAME"],
        }
        assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Maximum", 300, 1)
        # Published every minute, zero too: no data means the publisher stopped, and that is told.
        assert alarm["TreatMissingData"] == "missing"
        by_name = _topic_arn_by_name("plutomi-staging-alarms")
        assert alarm["AlarmActions"] == alarm["InsufficientDataActions"] == [by_name]
    depth_alarms = [props for props in found.values() if props.get("MetricName") == DEAD_LETTER_DEPTH_METRIC]
    assert len(depth_alarms) == len(CONSUMERS)


def test_the_api_alarms_on_its_5xx_rate_and_its_latency(staging: Synth) -> None:
    api_id, _ = only(staging.api, "AWS::ApiGatewayV2::Api")
    found = _alarms(staging)
    on_the_api = [{"Name": "ApiId", "Value": {"Ref": api_id}}]

    rate = found["plutomi-staging-api-5xx-rate"]
    metrics = {query["Id"]: query for query in rate["Metrics"]}
    [expression] = [query for query in metrics.values() if "Expression" in query]
    assert expression["ReturnData"] is True
    assert expression["Expression"] == (
        f"IF(requests >= {alarms.API_5XX_MINIMUM_REQUESTS}, FILL(errors, 0) / requests, 0)"
    )
    for query_id, metric_name in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[query_id]["MetricStat"]
        assert stat["Metric"] == {
            "Dimensions": on_the_api,
            "MetricName": metric_name,
            "Namespace": "AWS/ApiGateway",
        }
        assert (stat["Stat"], stat["Period"], metrics[query_id]["ReturnData"]) == ("Sum", 300, False)
    assert rate["Threshold"] == alarms.API_5XX_RATE_THRESHOLD
    assert (rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (3, 2)
    assert rate["TreatMissingData"] == "notBreaching"

    latency = found["plutomi-staging-api-latency"]
    assert (latency["Namespace"], latency["MetricName"], latency["Dimensions"]) == (
        "AWS/ApiGateway",
        "Latency",
        on_the_api,
    )
    assert latency["ExtendedStatistic"] == alarms.API_LATENCY_STATISTIC == "p99"
    assert latency["Threshold"] == alarms.API_LATENCY_THRESHOLD_MS
    assert latency["TreatMissingData"] == "notBreaching"
    for alarm in (rate, latency):
        assert alarm["AlarmActions"] == [_topic_arn_by_name("plutomi-staging-alarms")]


def test_no_reserved_concurrency_unless_the_context_asks(staging: Synth) -> None:
    for name, template in staging.templates().items():
        for logical_id, function in resources(template, "AWS::Lambda::Function").items():
            assert "ReservedConcurrentExecutions" not in function["Properties"], (name, logical_id)
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
            assert "ScalingConfig" not in mapping["Properties"], name


@pytest.mark.parametrize("function", all_functions())
def test_reserved_concurrency_goes_to_the_functions_with_a_mongodb_pool(
    production: Synth, function: str
) -> None:
    expected = {"api.public": 20, "consumers.ses_feedback": 3}.get(function, 5)
    handler = handler_of(function)
    [(stack, properties)] = [
        (name, functions_by_handler(template)[handler][1])
        for name, template in production.templates().items()
        if handler in functions_by_handler(template)
    ]
    if function in WITHOUT_DATABASE:
        assert "ReservedConcurrentExecutions" not in properties, stack
    else:
        assert function in database_functions()
        assert properties["ReservedConcurrentExecutions"] == expected, stack


def test_the_feedback_queue_never_starts_more_than_the_reserved_concurrency(production: Synth) -> None:
    function_id, _ = functions_by_handler(production.email)[handler_of("consumers.ses_feedback")]
    production.email.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionName": {"Ref": function_id}, "ScalingConfig": {"MaximumConcurrency": 3}},
    )
