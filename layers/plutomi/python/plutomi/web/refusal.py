"""The status of a page that shows a refused form or action again, with the service's message."""

from __future__ import annotations

from http import HTTPStatus

from plutomi.domain.errors import InvalidInput, PlutomiError
from plutomi.entrypoints.api import STATUS_BY_KIND


def status_of(error: PlutomiError) -> int:
    """422 for what the person entered (htmx swaps it in), else the status the API answers with."""
    if isinstance(error, InvalidInput):
        return HTTPStatus.UNPROCESSABLE_ENTITY
    return int(STATUS_BY_KIND[error.kind])
