"""Cursor pagination, the same for every list: an opaque cursor is the sort key of the last item seen,
so pages stay stable while new items arrive."""

from __future__ import annotations

import base64

from plutomi.domain.errors import InvalidInput


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def cursor_position(cursor: str | None, prefix: str) -> str | None:
    """The sort key behind a cursor this API gave out for items whose ids start with `prefix`."""
    if not cursor:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if not decoded.startswith(prefix) or not decoded.isascii():
        raise InvalidInput(
            "invalid_cursor", "The cursor is not one this API gave out; start from the first page"
        )
    return decoded
