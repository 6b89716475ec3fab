"""The consumers as Lambda functions for `plutomi bridge --target lambda`, and the bridge's role."""

from __future__ import annotations

from typing import Any

from plutomi.topology import CONSUMER_TIMEOUT_SECONDS, SQS_CONSUMERS, all_tiers
from stacks.base import handler_of
from stacks.consumers import consumer_functions
from tests.cdk.synth import Synth, functions_by_handler, get_att_arn, only, resources, template_json

BUSINESS_HANDLERS = {
    "consumers/notifications.handler",
    "consumers/webhooks.handler",
    "consumers/meta.handler",
}


def _bridge_role(synth: Synth) -> tuple[str, dict[str, Any]]:
    roles = {
        logical_id: role["Properties"]
        for logical_id, role in resources(synth.consumers, "AWS::IAM::Role").items()
        if "lambda.amazonaws.com" not in str(role["Properties"]["AssumeRolePolicyDocument"])
    }
    assert len(roles) == 1, sorted(roles)
    return next(iter(roles.items()))


def test_a_function_per_consumer_tier_handler(staging: Synth) -> None:
    tier_handlers = {handler_of(tier.function) for tier in all_tiers() if tier.function}
    sqs_handlers = {handler_of(consumer.function) for consumer in SQS_CONSUMERS}
    assert tier_handlers >= BUSINESS_HANDLERS
    assert set(functions_by_handler(staging.consumers)) == tier_handlers - sqs_handlers
    assert sorted(handler_of(f) for f in consumer_functions()) == sorted(tier_handlers - sqs_handlers)


def test_consumer_functions_have_stage_qualified_names_for_the_bridge(
    staging: Synth, production: Synth
) -> None:
    for synth, stage in ((staging, "staging"), (production, "production")):
        names = {props["FunctionName"] for _, props in functions_by_handler(synth.consumers).values()}
        assert names == {
            f"plutomi-{stage}-consumers-{function.split('.')[1].replace('_', '-')}"
            for function in consumer_functions()
        }
        outputs = template_json(synth.consumers)["Outputs"]
        for function_id, _ in functions_by_handler(synth.consumers).values():
            assert {"Ref": function_id} in [output["Value"] for output in outputs.values()]


def test_the_bridge_role_may_invoke_exactly_the_consumer_functions_and_nothing_else(staging: Synth) -> None:
    role_id, role = _bridge_role(staging)
    assert role["RoleName"] == "plutomi-staging-bridge-invoker"
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "lambda:InvokeFunction"
    function_ids = [function_id for function_id, _ in functions_by_handler(staging.consumers).values()]
    assert sorted(statement["Resource"], key=str) == sorted((get_att_arn(f) for f in function_ids), key=str)
    assert "Condition" not in statement and "NotResource" not in statement
    # No other policy is attached to the role anywhere in the stack.
    for policy_resource in resources(staging.consumers, "AWS::IAM::Policy").values():
        assert {"Ref": role_id} not in policy_resource["Properties"].get("Roles", [])


def test_the_bridge_role_is_assumable_by_the_configured_principal(staging: Synth, production: Synth) -> None:
    _, role = _bridge_role(staging)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"]["AWS"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]
    }
    _, role = _bridge_role(production)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"]["AWS"] == "arn:aws:iam::210987654321:role/plutomi-bridge-task"


def test_only_the_notifications_consumer_may_send_email(staging: Synth) -> None:
    functions = functions_by_handler(staging.consumers)
    for handler, (_, props) in functions.items():
        role_id = props["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in resources(staging.consumers, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        sends = [s for s in statements if "ses:SendEmail" in s["Action"]]
        if handler == "consumers/notifications.handler":
            (statement,) = sends
            resources_text = str(statement["Resource"])
            assert ":identity/plutomi.example" in resources_text
            assert ":configuration-set/plutomi-staging" in resources_text
        else:
            assert sends == [], handler


def test_the_notifications_consumer_sends_through_the_configuration_set(staging: Synth) -> None:
    _, config_set = only(staging.email, "AWS::SES::ConfigurationSet")
    _, notifications = functions_by_handler(staging.consumers)["consumers/notifications.handler"]
    variables = notifications["Environment"]["Variables"]
    assert variables["PLUTOMI_SES_CONFIGURATION_SET"] == config_set["Name"]
    assert variables["PLUTOMI_EMAIL_FROM"] == "no-reply@plutomi.example"


def test_consumer_functions_time_out_when_the_bridge_expects(staging: Synth) -> None:
    """The bridge's read timeout is derived from the same number (runtime/lambda_target.py)."""
    timeouts = {props["Timeout"] for _, props in functions_by_handler(staging.consumers).values()}
    assert timeouts == {CONSUMER_TIMEOUT_SECONDS}
