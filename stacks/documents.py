"""Documents: the one S3 bucket applicants' files go to, and (context `malware_scanning`) GuardDuty
Malware Protection for S3 on it, whose results reach `consumers.malware_scan` through SQS.

The bucket takes no public access and TLS only; objects are encrypted with S3-managed keys (SSE-S3).
Not KMS: every presigned POST and GET would then need the signing role's kms:GenerateDataKey or
kms:Decrypt, and GuardDuty's role the key too, for no protection beyond what the bucket's policy and
the functions' grants give (nobody outside this account can read either way); SSE-S3 also costs no
KMS request per upload and read. Versioning is off: every key is fresh (a document id, never a
user's name), so nothing is ever overwritten, and erasing an applicant must really delete
(the erasing code deletes every version anyway, should a bucket have versioning on).

CORS allows POST only (the browser's presigned upload; reads are presigned GETs the browser follows,
no CORS needed), from the app's origin only (`base_url`, else the HTTP API's URL), with no extra
request headers (a multipart form POST needs none). Two lifecycle rules: an upload still tagged
`plutomi-upload=unconfirmed` a day after it arrived expires (the answer naming it never came), and so
does an incomplete multipart upload.

Who may do what with the bucket is `plutomi.topology.DOCUMENT_ACCESS`, granted where each function is
(`PlutomiStack._grant_documents`): the bucket has a fixed name, so no stack imports it from this one.

With `malware_scanning`: a protection plan for the bucket's `orgs/` prefix, with its own IAM role (as
GuardDuty documents it) and tagging on (`GuardDutyMalwareScanStatus` on each object), and an
EventBridge rule for its "Object Scan Result" events about this bucket -> the malware-scan queue.
The queue, its DLQ and the consumer exist either way: switching scanning off then on loses no result
still queued, and an idle queue and function cost next to nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from plutomi.domain.documents import KEY_PREFIX, UNCONFIRMED, UPLOAD_TAG
from stacks.base import MALWARE_SCAN, PlutomiStack, acknowledge_nag
from stacks.queues import queue_names, sqs_fed_function
from stacks.settings import DeploySettings

# A presigned POST tags each new object unconfirmed (plutomi.domain.documents); confirming the answer
# that names it sets the tag to `confirmed`, so the lifecycle rule leaves it alone.
UNCONFIRMED_EXPIRY = cdk.Duration.days(1)
INCOMPLETE_MULTIPART_EXPIRY = cdk.Duration.days(1)
# How long a browser may cache the answer to a CORS preflight.
CORS_MAX_AGE_SECONDS = 3600

GUARDDUTY_PRINCIPAL = "malware-protection-plan.guardduty.amazonaws.com"
SCAN_RESULT = "GuardDuty Malware Protection Object Scan Result"
# GuardDuty creates (and names) the EventBridge rule that tells it of new objects.
GUARDDUTY_MANAGED_RULES = "DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"
# GuardDuty writes this object to check it may write to the bucket.
GUARDDUTY_VALIDATION_OBJECT = "malware-protection-resource-validation-object"


def origin_of(url: str) -> str:
    """`https://jobs.acme.test/portal` -> `https://jobs.acme.test`: a browser's Origin header has no
    path. The HTTP API's URL (a token until deploy) is an origin already."""
    if cdk.Token.is_unresolved(url):
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class DocumentsStack(PlutomiStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, origin: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=self.documents_bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=[origin_of(origin)],
                    max_age=CORS_MAX_AGE_SECONDS,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-unconfirmed-uploads",
                    tag_filters={UPLOAD_TAG: UNCONFIRMED},
                    expiration=UNCONFIRMED_EXPIRY,
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=INCOMPLETE_MULTIPART_EXPIRY,
                ),
            ],
            # Production keeps the bucket (and the documents) when the stack goes; a staging bucket
            # must be emptied first (`aws s3 rm --recursive`), or deleting the stack fails.
            removal_policy=cdk.RemovalPolicy.RETAIN if settings.is_production else cdk.RemovalPolicy.DESTROY,
        )
        acknowledge_nag(
            self.bucket,
            "AwsSolutions-S1",
            "no server access logs: they record each request's full URI, so every presigned GET's "
            "signature, a working link to an applicant's document until it expires, would land in a "
            "log bucket; CloudTrail data events give an audit trail without the signatures",
        )

        scan_queue, _ = queue_names(settings, MALWARE_SCAN)
        self.malware_scan = sqs_fed_function(
            self,
            MALWARE_SCAN,
            id_prefix="MalwareScan",
            what="GuardDuty scan results",
            # As `plutomi dev` and the K3S poller name it; here the real one.
            environment={"PLUTOMI_MALWARE_SCAN_QUEUE": scan_queue},
        )
        self.scan_results_rule: events.Rule | None = None
        self.protection_plan: guardduty.CfnMalwareProtectionPlan | None = None
        if settings.malware_scanning:
            self._malware_protection()

        cdk.CfnOutput(self, "DocumentsBucketName", value=self.bucket.bucket_name)
        cdk.CfnOutput(self, "MalwareScanQueueUrl", value=self.malware_scan.queue.queue_url)
        cdk.CfnOutput(self, "MalwareScanDeadLetterQueueUrl", value=self.malware_scan.dead_letters.queue_url)

    def _malware_protection(self) -> None:
        bucket = self.bucket
        role = iam.Role(
            self,
            "MalwareProtectionRole",
            description="assumed by GuardDuty Malware Protection for S3: scans and tags the documents",
            assumed_by=iam.ServicePrincipal(GUARDDUTY_PRINCIPAL),
        )
        managed_rules = self.format_arn(
            service="events", resource="rule", resource_name=GUARDDUTY_MANAGED_RULES
        )
        # The permissions GuardDuty's user guide lists for the plan's role ("Create or update IAM
        # role policy"), for this bucket; no KMS statement, the bucket uses SSE-S3.
        for statement in (
            iam.PolicyStatement(
                sid="AllowManagedRuleToSendS3EventsToGuardDuty",
                actions=["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"],
                resources=[managed_rules],
                conditions={"StringLike": {"events:ManagedBy": GUARDDUTY_PRINCIPAL}},
            ),
            iam.PolicyStatement(
                sid="AllowGuardDutyToMonitorEventBridgeManagedRule",
                actions=["events:DescribeRule", "events:ListTargetsByRule"],
                resources=[managed_rules],
            ),
            iam.PolicyStatement(
                sid="AllowPostScanTag",
                actions=[
                    "s3:PutObjectTagging",
                    "s3:GetObjectTagging",
                    "s3:PutObjectVersionTagging",
                    "s3:GetObjectVersionTagging",
                ],
                resources=[bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="AllowEnableS3EventBridgeEvents",
                actions=["s3:PutBucketNotification", "s3:GetBucketNotification"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="AllowPutValidationObject",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(GUARDDUTY_VALIDATION_OBJECT)],
            ),
            iam.PolicyStatement(
                sid="AllowCheckBucketOwnership", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="AllowMalwareScan",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
            ),
        ):
            role.add_to_policy(statement)
        for wildcard, reason in (
            (
                bucket.arn_for_objects("*"),
                "GuardDuty reads and tags whichever new object it scans: any key of this one bucket",
            ),
            (
                managed_rules,
                "GuardDuty names the EventBridge rule it manages itself: only rules of its prefix",
            ),
        ):
            acknowledge_nag(role, f"AwsSolutions-IAM5[Resource::{self.nag_name_of(wildcard)}]", reason)
        self.protection_plan = guardduty.CfnMalwareProtectionPlan(
            self,
            "MalwareProtectionPlan",
            role=role.role_arn,
            protected_resource=guardduty.CfnMalwareProtectionPlan.CFNProtectedResourceProperty(
                s3_bucket=guardduty.CfnMalwareProtectionPlan.S3BucketProperty(
                    bucket_name=bucket.bucket_name, object_prefixes=[KEY_PREFIX]
                )
            ),
            actions=guardduty.CfnMalwareProtectionPlan.CFNActionsProperty(
                tagging=guardduty.CfnMalwareProtectionPlan.CFNTaggingProperty(status="ENABLED")
            ),
        )
        # The plan checks its role's permissions when it is created.
        default_policy = role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            self.protection_plan.node.add_dependency(default_policy)

        self.scan_results_rule = events.Rule(
            self,
            "MalwareScanResults",
            rule_name=f"{self.settings.prefix}-malware-scan-results",
            description="GuardDuty Malware Protection scan results for the documents bucket -> SQS",
            event_pattern=events.EventPattern(
                source=["aws.guardduty"],
                detail_type=[SCAN_RESULT],
                detail={"s3ObjectDetails": {"bucketName": [bucket.bucket_name]}},
            ),
            targets=[targets.SqsQueue(self.malware_scan.queue)],
        )
