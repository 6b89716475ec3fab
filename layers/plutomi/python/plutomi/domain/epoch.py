"""Moments as whole milliseconds since the Unix epoch. Pure.

Stored documents carry these numbers beside (or instead of) dates wherever a filter compares times:
nx-27017 reads the whole collection for any filter that compares dates, while numbers use an index.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch (exact: no float rounding); a naive moment counts as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(milliseconds=1)
