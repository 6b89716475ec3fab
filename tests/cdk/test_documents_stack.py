"""The documents stack: the bucket (private, encrypted, TLS only, CORS POST from the app's origin, the
lifecycle rules), the grants each function gets from `DOCUMENT_ACCESS` (and nobody else), and
GuardDuty Malware Protection with its results' path EventBridge -> SQS -> `consumers.malware_scan`,
only when the context asks for it."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from plutomi.topology import DOCUMENT_ACCESS, all_functions
from stacks import documents as documents_module
from stacks.base import (
    DOCUMENT_BUCKET_ACTIONS,
    DOCUMENT_OBJECT_ACTIONS,
    MALWARE_SCAN_FUNCTION,
    PlutomiStack,
    handler_of,
)
from stacks.documents import origin_of
from stacks.settings import DeploySettings
from tests.cdk.synth import (
    Synth,
    functions_by_handler,
    get_att_arn,
    only,
    queue_and_dead_letters,
    resources,
    template_json,
)

MALWARE_SCAN_HANDLER = handler_of(MALWARE_SCAN_FUNCTION)
VARIANTS = ["staging", "production"]


def _synth(request: pytest.FixtureRequest, variant: str) -> Synth:
    synth: Synth = request.getfixturevalue(variant)
    return synth


def _bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    return only(synth.documents, "AWS::S3::Bucket")


def _statements_of(template: cdk.assertions.Template, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = {"Ref": function["Role"]["Fn::GetAtt"][0]}
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if role in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _s3_grants(template: cdk.assertions.Template, function: dict[str, Any]) -> dict[str, set[str]]:
    """Resource (as JSON) -> the S3 actions the function's role is allowed on it."""
    grants: dict[str, set[str]] = {}
    for statement in _statements_of(template, function):
        s3 = {action for action in _actions(statement) if action.startswith("s3:")}
        if s3:
            assert statement["Effect"] == "Allow"
            grants.setdefault(json.dumps(statement["Resource"], sort_keys=True), set()).update(s3)
    return grants


def _name_by_join(synth: Synth) -> Any:
    """The bucket's name as every stack writes it (no import from the documents stack)."""
    _, bucket = _bucket(synth)
    return bucket["BucketName"]


def _arn_of(name: Any, suffix: str = "") -> str:
    """The ARN a stack builds from the bucket's name, as JSON."""
    parts = name["Fn::Join"][1] if isinstance(name, dict) else [name]
    joined = ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", *parts]
    if suffix:
        joined.append(suffix)
    # CDK merges adjacent literals when it writes a join.
    merged: list[Any] = []
    for part in joined:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return json.dumps({"Fn::Join": ["", merged]}, sort_keys=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_bucket_is_private_encrypted_and_unversioned(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synth = _synth(request, variant)
    _, bucket = _bucket(synth)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in bucket  # keys are never reused; erasure really deletes
    assert "LoggingConfiguration" not in bucket  # access logs would hold presigned GETs' signatures


def test_the_bucket_name_is_unique_per_account_and_region(staging: Synth, production: Synth) -> None:
    assert _name_by_join(production) == "plutomi-production-documents-123456789012-eu-west-1"
    assert _name_by_join(staging) == {
        "Fn::Join": [
            "",
            ["plutomi-staging-documents-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}],
        ]
    }


def test_production_keeps_the_bucket_when_the_stack_goes(staging: Synth, production: Synth) -> None:
    kept = resources(production.documents, "AWS::S3::Bucket")
    assert [bucket["DeletionPolicy"] for bucket in kept.values()] == ["Retain"]
    assert [b["DeletionPolicy"] for b in resources(staging.documents, "AWS::S3::Bucket").values()] == [
        "Delete"
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_bucket_takes_tls_only(variant: str, request: pytest.FixtureRequest) -> None:
    synth = _synth(request, variant)
    bucket_id, _ = _bucket(synth)
    _, policy = only(synth.documents, "AWS::S3::BucketPolicy")
    assert policy["Bucket"] == {"Ref": bucket_id}
    everything = [get_att_arn(bucket_id), {"Fn::Join": ["", [get_att_arn(bucket_id), "/*"]]}]
    denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": everything,
    } in denials
    assert any(s["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}} for s in denials)
    # The bucket policy allows nothing: access is the functions' IAM grants only.
    assert [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] != "Deny"] == []


def test_cors_allows_post_only_from_the_apps_origin(staging: Synth, production: Synth) -> None:
    (staging_rule,) = _bucket(staging)[1]["CorsConfiguration"]["CorsRules"]
    (production_rule,) = _bucket(production)[1]["CorsConfiguration"]["CorsRules"]
    for rule in (staging_rule, production_rule):
        assert rule["AllowedMethods"] == ["POST"]
        assert "AllowedHeaders" not in rule and "ExposedHeaders" not in rule
        assert rule["MaxAge"] == documents_module.CORS_MAX_AGE_SECONDS
    # Production's base_url (https://api.acme-hiring.test/), as a browser sends it: no path, no slash.
    assert production_rule["AllowedOrigins"] == ["https://api.acme-hiring.test"]
    # Staging: the HTTP API's own URL, from the API stack.
    (origin,) = staging_rule["AllowedOrigins"]
    assert "HttpApi" in origin["Fn::ImportValue"] and "ApiEndpoint" in origin["Fn::ImportValue"]


def test_origin_of_drops_the_path() -> None:
    assert origin_of("https://jobs.acme.test/portal/") == "https://jobs.acme.test"
    assert origin_of("http://localhost:8080") == "http://localhost:8080"


@pytest.mark.parametrize("variant", VARIANTS)
def test_unconfirmed_and_incomplete_uploads_expire_after_a_day(
    variant: str, request: pytest.FixtureRequest
) -> None:
    _, bucket = _bucket(_synth(request, variant))
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules == {
        "expire-unconfirmed-uploads": {
            "Id": "expire-unconfirmed-uploads",
            "Status": "Enabled",
            "TagFilters": [{"Key": "plutomi-upload", "Value": "unconfirmed"}],
            "ExpirationInDays": 1,
        },
        "abort-incomplete-multipart-uploads": {
            "Id": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    }


def test_every_function_with_document_access_is_deployed() -> None:
    assert set(DOCUMENT_ACCESS) <= set(all_functions())
    known = set(DOCUMENT_OBJECT_ACTIONS)
    assert all(access and access <= known for access in DOCUMENT_ACCESS.values()), DOCUMENT_ACCESS


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_function_gets_exactly_its_document_access_and_nobody_else_any(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synth = _synth(request, variant)
    name = _name_by_join(synth)
    objects, bucket = _arn_of(name, "/orgs/*"), _arn_of(name)
    checked: set[str] = set()
    for template in synth.templates().values():
        for handler, (_, function) in functions_by_handler(template).items():
            function_name = handler.removesuffix(".handler").replace("/", ".")
            access = DOCUMENT_ACCESS.get(function_name, frozenset())
            wanted: dict[str, set[str]] = {}
            for kind in access:
                wanted.setdefault(objects, set()).update(DOCUMENT_OBJECT_ACTIONS[kind])
                if kind in DOCUMENT_BUCKET_ACTIONS:
                    wanted.setdefault(bucket, set()).update(DOCUMENT_BUCKET_ACTIONS[kind])
            assert _s3_grants(template, function) == wanted, function_name
            checked.add(function_name)
    assert set(DOCUMENT_ACCESS) <= checked
    # The grants as the shared contract words them.
    public = DOCUMENT_ACCESS["api.public"]
    assert public == {"upload", "read", "delete"}
    assert set(DOCUMENT_OBJECT_ACTIONS["upload"]) == {
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:GetObjectTagging",
    }
    assert set(DOCUMENT_OBJECT_ACTIONS["read"]) == {"s3:GetObject"}
    assert set(DOCUMENT_OBJECT_ACTIONS["delete"]) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert set(DOCUMENT_BUCKET_ACTIONS["delete"]) == {"s3:ListBucket", "s3:ListBucketVersions"}


def test_listing_is_only_under_the_documents_prefix(staging: Synth) -> None:
    _, function = functions_by_handler(staging.api)[handler_of("api.applicants")]
    (listing,) = [s for s in _statements_of(staging.api, function) if "s3:ListBucket" in _actions(s)]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["orgs/*"]}}


def test_a_new_document_access_entry_changes_the_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grants come from the table: give `api.health` read access, and its role can read."""
    monkeypatch.setattr("stacks.base.DOCUMENT_ACCESS", {"api.health": frozenset({"read"})})
    app = cdk.App()
    no_context: dict[str, object] = {}
    settings = DeploySettings.from_context(no_context.get)
    stack = PlutomiStack(app, "Probe", settings=settings)
    stack.plutomi_function("api.health", timeout=cdk.Duration.seconds(3))
    stack.plutomi_function("api.orgs", timeout=cdk.Duration.seconds(3))
    template = cdk.assertions.Template.from_stack(stack)
    functions = functions_by_handler(template)
    name = {
        "Fn::Join": [
            "",
            ["plutomi-staging-documents-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}],
        ]
    }
    assert _s3_grants(template, functions["api/health.handler"][1]) == {
        _arn_of(name, "/orgs/*"): {"s3:GetObject"}
    }
    assert _s3_grants(template, functions["api/orgs.handler"][1]) == {}
    assert "PLUTOMI_DOCUMENTS_BUCKET" in functions["api/health.handler"][1]["Environment"]["Variables"]
    assert "PLUTOMI_DOCUMENTS_BUCKET" not in functions["api/orgs.handler"][1]["Environment"]["Variables"]


@pytest.mark.parametrize(("variant", "scanning"), [("staging", "off"), ("production", "guardduty")])
def test_the_functions_handling_documents_get_the_bucket_and_the_scanner(
    variant: str, scanning: str, request: pytest.FixtureRequest
) -> None:
    synth = _synth(request, variant)
    name = _name_by_join(synth)
    handling = set(DOCUMENT_ACCESS) | {MALWARE_SCAN_FUNCTION}
    for template in synth.templates().values():
        for handler, (_, function) in functions_by_handler(template).items():
            variables = function["Environment"]["Variables"]
            if handler.removesuffix(".handler").replace("/", ".") in handling:
                assert variables["PLUTOMI_DOCUMENTS_BUCKET"] == name, handler
                assert variables["PLUTOMI_MALWARE_SCANNING"] == scanning, handler
            else:
                assert "PLUTOMI_DOCUMENTS_BUCKET" not in variables, handler
                assert "PLUTOMI_MALWARE_SCANNING" not in variables, handler


def _scan_queues(synth: Synth) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    return queue_and_dead_letters(synth.documents)


@pytest.mark.parametrize("variant", VARIANTS)
def test_scan_results_reach_the_consumer_through_a_queue_with_a_dlq(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synth = _synth(request, variant)
    queue_id, queue, dlq_id, dlq = _scan_queues(synth)
    prefix = synth.stacks.settings.prefix
    assert (queue["QueueName"], dlq["QueueName"]) == (f"{prefix}-malware-scan", f"{prefix}-malware-scan-dlq")
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": get_att_arn(dlq_id), "maxReceiveCount": 5}
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    function_id, function = functions_by_handler(synth.documents)[MALWARE_SCAN_HANDLER]
    assert function["Environment"]["Variables"]["PLUTOMI_MALWARE_SCAN_QUEUE"] == queue["QueueName"]
    assert set(functions_by_handler(synth.documents)) == {MALWARE_SCAN_HANDLER}
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    _, mapping = only(synth.documents, "AWS::Lambda::EventSourceMapping")
    assert mapping["EventSourceArn"] == get_att_arn(queue_id)
    assert mapping["FunctionName"] == {"Ref": function_id}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A result that failed every receive notifies, like the SES feedback DLQ.
    alarms = [a["Properties"] for a in resources(synth.documents, "AWS::CloudWatch::Alarm").values()]
    (dlq_alarm,) = [a for a in alarms if a["AlarmName"] == f"{prefix}-malware-scan-dlq-not-empty"]
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]


def test_without_malware_scanning_there_is_no_plan_and_no_rule(staging: Synth) -> None:
    assert staging.stacks.settings.malware_scanning is False
    assert resources(staging.documents, "AWS::GuardDuty::MalwareProtectionPlan") == {}
    assert resources(staging.documents, "AWS::Events::Rule") == {}
    roles = resources(staging.documents, "AWS::IAM::Role").values()
    assert "guardduty" not in json.dumps([r["Properties"]["AssumeRolePolicyDocument"] for r in roles])


def test_with_malware_scanning_guardduty_protects_and_tags_the_bucket(production: Synth) -> None:
    bucket_id, _ = _bucket(production)
    _, plan = only(production.documents, "AWS::GuardDuty::MalwareProtectionPlan")
    assert plan["ProtectedResource"] == {
        "S3Bucket": {"BucketName": {"Ref": bucket_id}, "ObjectPrefixes": ["orgs/"]}
    }
    assert plan["Actions"] == {"Tagging": {"Status": "ENABLED"}}
    role_id = plan["Role"]["Fn::GetAtt"][0]
    role = resources(production.documents, "AWS::IAM::Role")[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "malware-protection-plan.guardduty.amazonaws.com"}
    statements = {
        statement["Sid"]: statement
        for policy in resources(production.documents, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert set(statements) == {
        "AllowManagedRuleToSendS3EventsToGuardDuty",
        "AllowGuardDutyToMonitorEventBridgeManagedRule",
        "AllowPostScanTag",
        "AllowEnableS3EventBridgeEvents",
        "AllowPutValidationObject",
        "AllowCheckBucketOwnership",
        "AllowMalwareScan",
    }
    managed = statements["AllowManagedRuleToSendS3EventsToGuardDuty"]
    assert managed["Condition"] == {
        "StringLike": {"events:ManagedBy": "malware-protection-plan.guardduty.amazonaws.com"}
    }
    assert "rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*" in json.dumps(managed["Resource"])
    assert sorted(_actions(statements["AllowPostScanTag"])) == [
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
    ]
    assert "malware-protection-resource-validation-object" in json.dumps(
        statements["AllowPutValidationObject"]["Resource"]
    )
    # Nothing but the one bucket and GuardDuty's own rules.
    for statement in statements.values():
        text = json.dumps(statement["Resource"])
        assert bucket_id in text or "DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3" in text, statement


def test_with_malware_scanning_eventbridge_sends_this_buckets_results_to_the_queue(production: Synth) -> None:
    bucket_id, _ = _bucket(production)
    queue_id, _, _, _ = _scan_queues(production)
    rule_id, rule = only(production.documents, "AWS::Events::Rule")
    assert rule["EventPattern"] == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Malware Protection Object Scan Result"],
        "detail": {"s3ObjectDetails": {"bucketName": [{"Ref": bucket_id}]}},
    }
    assert [target["Arn"] for target in rule["Targets"]] == [get_att_arn(queue_id)]
    [policy] = [
        p["Properties"]
        for p in resources(production.documents, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    [allow] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": get_att_arn(rule_id)}}
    assert "sqs:SendMessage" in _actions(allow)


def test_the_stacks_that_delete_documents_deploy_after_the_bucket(staging: Synth) -> None:
    stacks = staging.stacks
    assert stacks.documents in stacks.scheduling.dependencies
    assert stacks.documents in stacks.consumers.dependencies
    # The bucket's CORS needs the API's URL, so the API cannot wait for it (no cycle).
    assert stacks.api in stacks.documents.dependencies
    assert stacks.documents not in stacks.api.dependencies
    outputs = template_json(staging.documents)["Outputs"]
    assert outputs["DocumentsBucketName"]["Value"] == {"Ref": _bucket(staging)[0]}
