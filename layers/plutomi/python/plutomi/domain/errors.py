"""Errors a person can act on. Each has a stable `code`; the entrypoints map the kind to a status."""

from __future__ import annotations

from typing import ClassVar


class PlutomiError(Exception):
    kind: ClassVar[str] = "invalid"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidInput(PlutomiError):
    kind = "invalid"


class Unauthenticated(PlutomiError):
    kind = "unauthenticated"


class Forbidden(PlutomiError):
    kind = "forbidden"


class NotFound(PlutomiError):
    kind = "not_found"


class Conflict(PlutomiError):
    kind = "conflict"


class Gone(PlutomiError):
    kind = "gone"


class RateLimited(PlutomiError):
    kind = "rate_limited"

    def __init__(self, code: str, message: str, retry_after_seconds: int) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = max(1, retry_after_seconds)


class Unavailable(PlutomiError):
    """A dependency (the event bus, the store) is down; the request can be retried."""

    kind = "unavailable"

    def __init__(self, code: str, message: str, retry_after_seconds: int = 5) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = retry_after_seconds


class DuplicateItem(Exception):
    """A write collided with an existing item (the same id or unique key): the store says so in the
    domain's terms, and the use case decides what it means (someone applied twice at once, say)."""


class InvalidFields(InvalidInput):
    """Several fields were wrong at once; `fields` holds a message per field."""

    def __init__(self, code: str, message: str, fields: dict[str, str]) -> None:
        super().__init__(code, message)
        self.fields = fields
