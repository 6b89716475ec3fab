"""What the end-to-end tests saw each route answer: every status, with its error code.

`tests.support.http.Api` records every response here; `test_openapi.py` and `test_bad_input.py` check
that /openapi.json documents each status (and each error code) a route was seen to answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx

from plutomi.runtime.gateway import RouteTable
from plutomi.topology import Route

_TABLE = RouteTable()
# (method, route template) -> status -> error codes seen with it (None: the body named no error code)
OBSERVED: defaultdict[tuple[str, str], defaultdict[int, set[str | None]]] = defaultdict(
    lambda: defaultdict(set)
)


def record(response: httpx.Response) -> None:
    """Notes the response against the route it reached; answers for paths no route serves are skipped."""
    request = response.request
    matched = _TABLE.match(request.method.upper(), request.url.path)
    if isinstance(matched, list):
        return
    route: Route = matched[0]
    OBSERVED[(route.method, route.path)][response.status_code].add(error_code(response))


def error_code(response: httpx.Response) -> str | None:
    """The `error.code` of an answer in our error shape, else None."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


def undocumented(document: dict[str, Any]) -> list[str]:
    """Every status (and error code) seen so far that the OpenAPI document does not give the route."""
    problems = []
    for (method, path), statuses in sorted(OBSERVED.items()):
        operation = document.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            continue  # not described (Swagger UI and the document itself)
        responses = operation.get("responses", {})
        for status, codes in sorted(statuses.items()):
            response = responses.get(str(status))
            if response is None:
                problems.append(f"{method} {path}: {status} ({', '.join(sorted(c or '-' for c in codes))})")
                continue
            listed = set(response.get("x-error-codes", []))
            if status >= 400:
                problems += [
                    f"{method} {path}: {status} {code}"
                    for code in sorted(c or "-" for c in codes)
                    if code not in listed
                ]
    return problems
