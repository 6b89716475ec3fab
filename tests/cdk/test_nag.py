"""cdk-nag's AwsSolutions pack over the whole app, as synthesised for the other CDK tests (no second
synth): every finding is fixed, or acknowledged in code next to its resource with a reason
(`stacks.base.acknowledge_nag`). Any other finding fails the test, one line per finding."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from stacks.base import acknowledge_nag
from tests.cdk.synth import Synth


def nag_findings(app: cdk.App) -> list[str]:
    """`<severity> <rule[finding]> at <construct path>: <what>` for each unacknowledged finding."""
    report = AwsSolutionsChecks(app).validate_scope(app)
    return sorted(
        f"{violation.severity} {violation.rule_name} at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    )


@pytest.mark.parametrize("variant", ["staging", "production"])
def test_every_aws_solutions_finding_is_fixed_or_acknowledged_with_a_reason(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(variant)
    app = synth.stacks.api.node.root
    assert isinstance(app, cdk.App)
    findings = nag_findings(app)
    assert not findings, (
        f"{len(findings)} cdk-nag AwsSolutions finding(s) in the {variant} app: fix each, or acknowledge "
        "it next to the resource with acknowledge_nag(scope, rule, reason):\n  " + "\n  ".join(findings)
    )


def test_the_check_reports_findings_and_an_acknowledgment_silences_only_its_own() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Probe")
    topic = sns.Topic(stack, "PlainTopic")  # takes plain HTTP (SNS3)
    sqs.Queue(stack, "PlainQueue")  # takes plain HTTP (SQS4)
    findings = nag_findings(app)
    assert any(f.startswith("error AwsSolutions-SNS3 at Probe/PlainTopic/Resource: ") for f in findings), (
        findings
    )
    assert any(f.startswith("error AwsSolutions-SQS4 at Probe/PlainQueue/Resource: ") for f in findings), (
        findings
    )

    acknowledge_nag(topic, "AwsSolutions-SNS3", "a probe")
    after = nag_findings(app)
    assert not any("AwsSolutions-SNS3" in f for f in after), after
    assert any("AwsSolutions-SQS4 at Probe/PlainQueue" in f for f in after), after
