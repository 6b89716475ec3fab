"""AWS-shaped events, built the way AWS builds them: API Gateway HTTP API (payload 2.0), SQS, SNS
and EventBridge schedules. The gateway, the bridge and `plutomi event` all use these builders."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"


def http_event(
    *,
    method: str,
    path: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    query_string: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event. Repeated headers and query keys are comma-joined,
    and cookies move from the Cookie header to `cookies`, as API Gateway does."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    request_id = request_id or uuid.uuid4().hex
    is_text = _is_text(merged.get("content-type", ""), body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": merged.get("host", "localhost"),
            "domainPrefix": merged.get("host", "localhost").split(".")[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        event["body"] = body.decode() if is_text else base64.b64encode(body).decode()
    return event


def _is_text(content_type: str, body: bytes) -> bool:
    textual = content_type == "" or content_type.startswith(
        ("text/", "application/json", "application/x-www-form")
    )
    if not textual:
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    attributes: Mapping[str, str] | None = None,
    event_source_arn: str = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:plutomi",
) -> dict[str, Any]:
    now_ms = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"{random.getrandbits(128):032x}",  # opaque; uuid4 reads the OS random source
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now_ms,
            "SenderId": ACCOUNT_ID,
            "ApproximateFirstReceiveTimestamp": now_ms,
        },
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"} for name, value in (attributes or {}).items()
        },
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": event_source_arn,
        "awsRegion": REGION,
    }


def sqs_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


SNS_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:plutomi"
SNS_SIGNING_CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000.pem"


def sns_event(
    message: str,
    *,
    subject: str | None = None,
    attributes: Mapping[str, str] | None = None,
    topic_arn: str = SNS_TOPIC_ARN,
) -> dict[str, Any]:
    """An SNS-to-Lambda event, spelt as Lambda spells it: `SigningCertUrl`, `UnsubscribeUrl`, a
    `Subject` (null without one) and `MessageAttributes` ({"Type", "Value"} each). The JSON that SNS
    delivers to an SQS queue or an HTTP endpoint spells the URLs `SigningCertURL` and `UnsubscribeURL`
    instead; `domain/email_feedback.py` reads that one."""
    subscription_arn = f"{topic_arn}:{uuid.uuid4()}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": SNS_SIGNING_CERT_URL,
                    "UnsubscribeUrl": (
                        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                    ),
                    "MessageAttributes": {
                        name: {"Type": "String", "Value": value} for name, value in (attributes or {}).items()
                    },
                },
            }
        ]
    }


def schedule_event(rule: str = "plutomi-schedule") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def dumps(event: Mapping[str, Any]) -> str:
    return json.dumps(event, indent=2, sort_keys=False)
