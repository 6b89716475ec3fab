"""Calls a consumer deployed as a Lambda function, for `plutomi bridge --target lambda`."""

from __future__ import annotations

import json
from typing import Any

from plutomi.runtime.bridge import Target


def lambda_target(function_name: str) -> Target:
    from plutomi.bootstrap import aws_client

    client = aws_client("lambda")

    def call(event: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(f"{function_name} failed: {payload.get('errorMessage', payload)}")
        return payload if isinstance(payload, dict) else {}

    return call
