"""Calls a consumer deployed as a Lambda function, for `plutomi bridge --target lambda`.

One synchronous Invoke per batch, and never a second one for the same batch from the SDK: boto3's
defaults (a 60 s read timeout, then retries) would invoke a batch again while the first invocation
still runs, up to the function's 120 s. So the read timeout outlasts the function's timeout, the SDK
does not retry, and a failure of any kind is the bridge's to retry (nak with the tier's back-off).
Throttling raises `TargetThrottled`: the bridge naks the batch and pauses pulling for the back-off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from plutomi.runtime.bridge import TargetThrottled
from plutomi.topology import CONSUMER_TIMEOUT_SECONDS

# Past the function's own timeout, Lambda answers with a timeout error itself; the margin covers a
# cold start's init phase (up to 10 s) and the network.
READ_TIMEOUT_MARGIN_SECONDS = 15.0
# Reaching Lambda's endpoint takes milliseconds; a bridge that cannot should nak and try again soon.
CONNECT_TIMEOUT_SECONDS = 5.0
# What Lambda's Invoke answers when the account's, the function's reserved or EC2's limits are hit.
THROTTLE_ERROR_CODES = frozenset(
    {"TooManyRequestsException", "EC2ThrottledException", "ThrottlingException", "Throttling"}
)
THROTTLE_STATUS = 429


def invoke_config(
    function_timeout_seconds: float = CONSUMER_TIMEOUT_SECONDS,
    margin_seconds: float = READ_TIMEOUT_MARGIN_SECONDS,
) -> Config:
    """The botocore settings for invoking a function that may run `function_timeout_seconds`: one
    attempt (the bridge's nak and back-off are the retry), waiting for the answer longer than that."""
    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=function_timeout_seconds + margin_seconds,
        retries={"total_max_attempts": 1},
    )


class LambdaTarget:
    """The bridge's target for one function, invoked with each batch's SQS-shaped event."""

    def __init__(
        self,
        function_name: str,
        *,
        function_timeout_seconds: float = CONSUMER_TIMEOUT_SECONDS,
        margin_seconds: float = READ_TIMEOUT_MARGIN_SECONDS,
        endpoint_url: str | None = None,
    ) -> None:
        from plutomi.bootstrap import aws_client

        self.function_name = function_name
        self.read_timeout_seconds = function_timeout_seconds + margin_seconds
        config = invoke_config(function_timeout_seconds, margin_seconds)
        self.client = aws_client("lambda", config=config, endpoint_url=endpoint_url)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        except ClientError as error:
            if _is_throttle(error.response):
                raise TargetThrottled(
                    f"{self.function_name} is throttled", _retry_after_seconds(error.response)
                ) from error
            raise
        except ReadTimeoutError as error:
            # The function may still be running this batch when the bridge naks it, and the next
            # delivery may run it again alongside: safe, as the consumer handlers are idempotent per
            # (consumer, event id), a record in progress or done is not run twice, and org-purge is
            # safe to repeat (docs/architecture.md).
            raise RuntimeError(
                f"{self.function_name} did not answer within {self.read_timeout_seconds} s"
            ) from error
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(f"{self.function_name} failed: {payload.get('errorMessage', payload)}")
        return payload if isinstance(payload, dict) else {}


def _is_throttle(response: Mapping[str, Any]) -> bool:
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in THROTTLE_ERROR_CODES or status == THROTTLE_STATUS


def _retry_after_seconds(response: Mapping[str, Any]) -> float | None:
    """Lambda's `Retry-After` on a throttle, when it sends one (None: the bridge's own throttle back-off)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    text = response.get("retryAfterSeconds") or headers.get("retry-after")
    try:
        seconds = float(text) if text is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds > 0 else None
