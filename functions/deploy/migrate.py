"""`plutomi migrate` (indexes, streams, consumers) as a deploy step: the on-event handler of a
CloudFormation custom resource (through aws_cdk.custom_resources.Provider). Create and Update run the
same migration as the CLI, which is idempotent; Delete leaves the data and the streams as they are."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.config import get_settings
from plutomi.observability import invocation_log_keys, logger
from plutomi.runtime.migrate import migrate

# One resource for the stack's life: an Update that kept it never makes CloudFormation delete it.
PHYSICAL_RESOURCE_ID = "plutomi-migrations"
MIGRATING_REQUESTS = ("Create", "Update")


@invocation_log_keys(correlation_id_path="RequestId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID
    if request == "Delete":
        logger.info("migrations: nothing to undo on delete")
        return {"PhysicalResourceId": physical_id}
    if request not in MIGRATING_REQUESTS:
        raise ValueError(f"RequestType must be Create, Update or Delete; got {request!r}")
    steps: list[str] = []
    migrate(get_settings(), say=steps.append)
    logger.info("migrations done", extra={"request": request, "steps": steps})
    return {"PhysicalResourceId": physical_id, "Data": {"Steps": str(len(steps))}}
