"""The email stack: SES identity and configuration set, and the feedback path SNS -> SQS -> function."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from tests.cdk.synth import (
    Synth,
    functions_by_handler,
    get_att_arn,
    only,
    queue_and_dead_letters,
    resources,
    template_json,
)

FEEDBACK_HANDLER = "consumers/ses_feedback.handler"
FEEDBACK_EVENT_TYPES = {"bounce", "complaint", "delivery", "reject", "deliveryDelay"}


def _queues(synth: Synth) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    return queue_and_dead_letters(synth.email)


def _feedback_topic_id(synth: Synth) -> str:
    """The SES feedback topic (the stack also holds the alarm topic, tests/cdk/test_alarms.py)."""
    [topic_id] = [
        logical_id
        for logical_id, topic in resources(synth.email, "AWS::SNS::Topic").items()
        if topic["Properties"]["TopicName"] == f"{synth.stacks.settings.prefix}-ses-feedback"
    ]
    return topic_id


def test_domain_identity_signs_with_easy_dkim_and_a_mail_from_subdomain(staging: Synth) -> None:
    _, identity = only(staging.email, "AWS::SES::EmailIdentity")
    assert identity["EmailIdentity"] == "plutomi.example"
    assert identity["DkimAttributes"] == {"SigningEnabled": True}
    # Easy DKIM: SES makes the keys. Bring-your-own DKIM would carry a selector and a private key.
    assert "DomainSigningSelector" not in identity.get("DkimSigningAttributes", {})
    assert "DomainSigningPrivateKey" not in identity.get("DkimSigningAttributes", {})
    assert identity["MailFromAttributes"]["MailFromDomain"] == "mail.plutomi.example"


def test_the_configuration_set_sends_the_five_event_types_to_the_sns_topic(staging: Synth) -> None:
    config_set_id, config_set = only(staging.email, "AWS::SES::ConfigurationSet")
    assert config_set["Name"] == "plutomi-staging"
    topic_id = _feedback_topic_id(staging)
    _, destination = only(staging.email, "AWS::SES::ConfigurationSetEventDestination")
    assert destination["ConfigurationSetName"] == {"Ref": config_set_id}
    event_destination = destination["EventDestination"]
    assert event_destination["Enabled"] is True
    assert sorted(event_destination["MatchingEventTypes"]) == sorted(FEEDBACK_EVENT_TYPES)
    assert event_destination["SnsDestination"] == {"TopicARN": {"Ref": topic_id}}
    # The identity's default configuration set too, so even a send that names none is tracked.
    _, identity = only(staging.email, "AWS::SES::EmailIdentity")
    assert identity["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": config_set_id}}


def test_ses_may_publish_to_the_topic(staging: Synth) -> None:
    topic_id = _feedback_topic_id(staging)
    staging.email.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Resource": {"Ref": topic_id},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_the_queue_is_subscribed_to_the_topic_with_sns_envelopes(staging: Synth) -> None:
    topic_id = _feedback_topic_id(staging)
    queue_id, _, _, _ = _queues(staging)
    _, subscription = only(staging.email, "AWS::SNS::Subscription")
    assert subscription["Protocol"] == "sqs"
    assert subscription["TopicArn"] == {"Ref": topic_id}
    assert subscription["Endpoint"] == get_att_arn(queue_id)
    assert subscription["RawMessageDelivery"] is False
    # ...and the queue lets that topic, and only it, send.
    staging.email.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sqs:SendMessage",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_the_queue_redrives_to_its_dlq_after_five_receives(staging: Synth) -> None:
    _, queue, dlq_id, _ = _queues(staging)
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": get_att_arn(dlq_id), "maxReceiveCount": 5}


def test_the_dlq_keeps_messages_longer_than_the_queue(staging: Synth) -> None:
    _, queue, _, dlq = _queues(staging)
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_visibility_timeout_is_at_least_six_times_the_function_timeout(staging: Synth) -> None:
    _, queue, _, _ = _queues(staging)
    _, function = functions_by_handler(staging.email)[FEEDBACK_HANDLER]
    assert function["Timeout"] > 0
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_the_function_consumes_the_queue_with_partial_batch_responses(staging: Synth) -> None:
    queue_id, _, _, _ = _queues(staging)
    function_id, _ = functions_by_handler(staging.email)[FEEDBACK_HANDLER]
    _, mapping = only(staging.email, "AWS::Lambda::EventSourceMapping")
    assert mapping["EventSourceArn"] == get_att_arn(queue_id)
    assert mapping["FunctionName"] == {"Ref": function_id}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    # The function's role may receive and delete from that queue (the mapping polls as the function).
    staging.email.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["sqs:ReceiveMessage", "sqs:DeleteMessage"]),
                                "Resource": get_att_arn(queue_id),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_the_feedback_function_runs_the_ses_feedback_handler_only(staging: Synth) -> None:
    assert set(functions_by_handler(staging.email)) == {FEEDBACK_HANDLER}
    _, function = functions_by_handler(staging.email)[FEEDBACK_HANDLER]
    variables = function["Environment"]["Variables"]
    assert variables["PLUTOMI_SES_FEEDBACK_QUEUE"] == "plutomi-staging-ses-feedback"
    assert variables["PLUTOMI_SES_FEEDBACK_DLQ"] == "plutomi-staging-ses-feedback-dlq"
    _, queue, _, dlq = _queues(staging)
    assert (queue["QueueName"], dlq["QueueName"]) == (
        variables["PLUTOMI_SES_FEEDBACK_QUEUE"],
        variables["PLUTOMI_SES_FEEDBACK_DLQ"],
    )


def test_outputs_give_the_dns_records_that_verify_the_domain(staging: Synth) -> None:
    identity_id, _ = only(staging.email, "AWS::SES::EmailIdentity")
    outputs = template_json(staging.email)["Outputs"]
    for index in (1, 2, 3):
        assert outputs[f"DkimRecord{index}"]["Value"] == {
            "Fn::Join": [
                " ",
                [
                    "CNAME",
                    {"Fn::GetAtt": [identity_id, f"DkimDNSTokenName{index}"]},
                    {"Fn::GetAtt": [identity_id, f"DkimDNSTokenValue{index}"]},
                ],
            ]
        }
    # Environment-agnostic: the region is the deploy's.
    assert outputs["MailFromMxRecord"]["Value"] == {
        "Fn::Join": [
            "",
            ["MX mail.plutomi.example 10 feedback-smtp.", {"Ref": "AWS::Region"}, ".amazonses.com"],
        ]
    }
    assert (
        outputs["MailFromSpfRecord"]["Value"]
        == 'TXT mail.plutomi.example "v=spf1 include:amazonses.com ~all"'
    )
    assert outputs["ConfigurationSetName"]["Value"] == "plutomi-staging"


def test_with_a_hosted_zone_the_stack_writes_the_dkim_and_mail_from_records(production: Synth) -> None:
    records = [
        value["Properties"] for value in resources(production.email, "AWS::Route53::RecordSet").values()
    ]
    assert all(record["HostedZoneId"] == "Z0123456789ABCDEFGHIJ" for record in records)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_type.setdefault(record["Type"], []).append(record)
    assert len(by_type.get("CNAME", [])) == 3  # the three Easy DKIM tokens
    (mx,) = by_type["MX"]
    assert mx["Name"] == "mail.acme-hiring.test."
    assert mx["ResourceRecords"] == ["10 feedback-smtp.eu-west-1.amazonses.com"]
    (spf,) = by_type["TXT"]
    assert spf["Name"] == "mail.acme-hiring.test."
    assert spf["ResourceRecords"] == ['"v=spf1 include:amazonses.com ~all"']
    identity_id, identity = only(production.email, "AWS::SES::EmailIdentity")
    assert sorted(record["Name"]["Fn::GetAtt"][1] for record in by_type["CNAME"]) == [
        f"DkimDNSTokenName{index}" for index in (1, 2, 3)
    ]
    assert all(record["Name"]["Fn::GetAtt"][0] == identity_id for record in by_type["CNAME"])
    assert identity["EmailIdentity"] == "acme-hiring.test"
    assert identity["MailFromAttributes"]["MailFromDomain"] == "mail.acme-hiring.test"


def test_without_a_hosted_zone_no_dns_records_are_created(staging: Synth) -> None:
    assert resources(staging.email, "AWS::Route53::RecordSet") == {}


def test_the_topic_takes_tls_only(staging: Synth) -> None:
    topic_id = _feedback_topic_id(staging)
    [policy] = [
        policy["Properties"]
        for policy in resources(staging.email, "AWS::SNS::TopicPolicy").values()
        if policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert denials == [
        {
            "Sid": "AllowPublishThroughSSLOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": {"Ref": topic_id},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_the_topic_is_encrypted_with_its_own_key_that_ses_may_use(staging: Synth, production: Synth) -> None:
    for synth, configuration_set in ((staging, "plutomi-staging"), (production, "plutomi-production")):
        topic = resources(synth.email, "AWS::SNS::Topic")[_feedback_topic_id(synth)]["Properties"]
        # Not the AWS-managed alias/aws/sns: its policy lets no service use it, so SES could not publish.
        # A key of its own (the alarm topic has another).
        key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
        key_resource = resources(synth.email, "AWS::KMS::Key")[key_id]
        assert topic["KmsMasterKeyId"] == get_att_arn(key_id)
        key = key_resource["Properties"]
        assert key["EnableKeyRotation"] is True
        (ses,) = [
            s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "ses.amazonaws.com"}
        ]
        assert ses["Effect"] == "Allow"
        assert sorted(ses["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
        account = synth.stacks.email.resolve(synth.stacks.email.account)
        assert ses["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
        source_arn = json.dumps(ses["Condition"]["ArnLike"]["aws:SourceArn"])
        assert f":configuration-set/{configuration_set}" in source_arn
        # Nobody else: the key's other statement is the account's own IAM (CDK's default).
        others = [s for s in key["KeyPolicy"]["Statement"] if s is not ses]
        assert len(others) == 1 and ":root" in json.dumps(others[0]["Principal"]), others
    assert key_resource["DeletionPolicy"] == "Retain"  # production keeps its key with the stack gone


def test_the_queue_needs_no_key_of_the_topic_to_receive(staging: Synth) -> None:
    # SQS-managed encryption: SNS delivers to it without any KMS permission of its own.
    _, queue, _, dlq = _queues(staging)
    assert queue["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in queue
    assert dlq["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in dlq
