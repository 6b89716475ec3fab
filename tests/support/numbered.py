"""Numbered events, for tests that follow events through the pipeline by number: `org.updated` (a type
any test consumer may subscribe to) with valid data, the number in its display name. Event data must
match their type's model (`Dependencies.event` checks), so a bare `{"n": 1}` is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "numbered "


def numbered(org_id: str | None, n: int) -> dict[str, Any]:
    """`org.updated` data carrying `n`."""
    return {"org_id": org_id or "no-org", "display_name": f"{PREFIX}{n}", "by": "usr_test"}


def number_of(data: Mapping[str, Any]) -> int:
    """The number `numbered` put in an event's data."""
    return int(str(data["display_name"]).removeprefix(PREFIX))
