"""Feeds an SQS-triggered function from its queue, as Lambda's event source mapping does on AWS.

It receives up to a batch of messages, calls the function in-process with an SQS event (the records
exactly as Lambda builds them), deletes the records the function did not report in
`batchItemFailures`, and leaves the failures in the queue: they come back when their visibility
timeout ends, and after the queue's `maxReceiveCount` receives its redrive policy moves them to the
DLQ. A function that raises, or answers something that is not a partial batch response, fails the
whole batch, as on Lambda. `retry_delay_seconds` makes failures visible again sooner than the queue's
visibility timeout (tests use 0; `plutomi dev` leaves it to the queue, as AWS does).

`plutomi dev` runs one per entry of `topology.SQS_CONSUMERS`, and so does `plutomi ses poll` (the
K3S Deployment, with a probe port: readiness is `ready`, liveness `heartbeat`); `stop()` ends `run()`
after the poll in flight (at most `wait_seconds` and the handler's run).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plutomi.config import Settings
from plutomi.observability import runtime_logger as logger
from plutomi.runtime.probe import STALL_AFTER_SECONDS, Heartbeat
from plutomi.topology import SqsConsumer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def queue_of(consumer: SqsConsumer, settings: Settings) -> str:
    """The queue that feeds a consumer, by configuration."""
    queues = {"ses-feedback": settings.ses_feedback_queue, "malware-scan": settings.malware_scan_queue}
    if consumer.name not in queues:
        raise LookupError(f"no queue configured for the SQS consumer {consumer.name!r}")
    return queues[consumer.name]


def fed_consumers(consumers: tuple[SqsConsumer, ...], settings: Settings) -> list[SqsConsumer]:
    """The SQS consumers something feeds here: without a malware scanner (PLUTOMI_MALWARE_SCANNING
    off, as always locally) nothing sends scan results, so nothing polls their queue."""
    return [c for c in consumers if c.name != "malware-scan" or settings.malware_scanning != "off"]


@dataclass(frozen=True)
class PollResult:
    received: int
    deleted: int
    failed: int


def lambda_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to the function."""
    attributes: dict[str, Any] = {
        str(name): value for name, value in (message.get("Attributes") or {}).items()
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": list(value.get("BinaryListValues") or []),
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller:
    def __init__(
        self,
        consumer: SqsConsumer,
        queue_name: str,
        *,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        retry_delay_seconds: int | None = None,
        client: SQSClient | None = None,
        stall_after_seconds: float = STALL_AFTER_SECONDS,
    ) -> None:
        self.consumer = consumer
        self.queue_name = queue_name
        self._region = region
        self._wait_seconds = wait_seconds
        self._retry_delay_seconds = retry_delay_seconds
        self._client = client
        self._queue: tuple[str, str] | None = None  # url, arn
        self._stopping = threading.Event()
        self.heartbeat = Heartbeat(stall_after_seconds)  # each poll that returns, well or not
        self.ready = False  # the last poll reached the queue
        self.consecutive_failures = 0

    @classmethod
    def for_consumer(cls, consumer: SqsConsumer, settings: Settings, **options: Any) -> SqsPoller:
        return cls(consumer, queue_of(consumer, settings), region=settings.aws_region, **options)

    @property
    def name(self) -> str:
        return self.consumer.name

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            from plutomi.bootstrap import aws_client

            self._client = aws_client("sqs")
        return self._client

    def queue(self) -> tuple[str, str]:
        """The queue's URL and ARN (looked up once)."""
        if self._queue is None:
            url = self.client.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self._queue = (url, attributes["Attributes"]["QueueArn"])
        return self._queue

    def poll_once(self) -> PollResult:
        """One receive, one call, and the deletes: what the event source mapping does per batch."""
        from plutomi.runtime.functions import invoke

        url, arn = self.queue()
        received = self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(self.consumer.batch_size, 10),
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages") or []
        if not messages:
            return PollResult(0, 0, 0)
        event = {"Records": [lambda_record(message, arn, self._region) for message in messages]}
        ids = {message["MessageId"] for message in messages}
        try:
            response = invoke(self.consumer.function, event, timeout_seconds=self.consumer.timeout_seconds)
            failed_ids = _reported_failures(response, ids)
        except Exception:
            logger.exception("sqs consumer failed the whole batch", extra={"consumer": self.name})
            failed_ids = ids
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        self._delete(url, done)
        self._release(url, failed)
        if failed:
            logger.warning(
                "sqs records failed; left for redelivery",
                extra={"consumer": self.name, "failed": len(failed), "received": len(messages)},
            )
        return PollResult(len(messages), len(done), len(failed))

    def _delete(self, url: str, messages: list[MessageTypeDef]) -> None:
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        answer = self.client.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
        for failure in answer.get("Failed") or []:
            logger.error("could not delete an sqs record", extra={"consumer": self.name, **failure})

    def _release(self, url: str, messages: list[MessageTypeDef]) -> None:
        if not messages or self._retry_delay_seconds is None:
            return
        entries = [
            {
                "Id": str(i),
                "ReceiptHandle": m["ReceiptHandle"],
                "VisibilityTimeout": self._retry_delay_seconds,
            }
            for i, m in enumerate(messages)
        ]
        self.client.change_message_visibility_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]

    async def run(self) -> None:
        """Polls until `stop()`; a poll that fails (the queue missing, the endpoint down) is retried
        with back-off, logged, never fatal."""
        self.heartbeat.beat()
        while not self._stopping.is_set():
            try:
                result = await asyncio.to_thread(self.poll_once)
                self.heartbeat.beat()
                self.ready = True
                self.consecutive_failures = 0
                if result.received == 0 and self._wait_seconds < 1:  # no long polling: don't spin
                    await asyncio.to_thread(self._stopping.wait, 0.2)
            except Exception:
                self.heartbeat.beat()
                self.ready = False
                self.consecutive_failures += 1
                logger.exception("sqs poll failed", extra={"consumer": self.name, "queue": self.queue_name})
                await asyncio.to_thread(self._stopping.wait, min(30.0, 2.0**self.consecutive_failures))

    def stop(self) -> None:
        self._stopping.set()


def _reported_failures(response: Any, ids: set[str]) -> set[str]:
    """The message ids a partial batch response lists; every id when the response is not one."""
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not isinstance(failures, list):
        return ids
    reported = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if len(reported) != len(failures) or not reported <= ids:
        return ids  # Lambda treats an invalid item identifier as a failure of the whole batch
    return {str(identifier) for identifier in reported}
