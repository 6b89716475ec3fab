"""Readiness of the dependencies a request needs."""

from __future__ import annotations

from plutomi.services.ports import Dependencies


def check_dependencies(deps: Dependencies) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        deps.store.ping()
        checks["store"] = "ok"
    except Exception as error:
        checks["store"] = f"unavailable: {type(error).__name__}"
    try:
        deps.event_bus.check()
        checks["events"] = "ok"
    except Exception as error:
        checks["events"] = f"unavailable: {type(error).__name__}"
    return checks
