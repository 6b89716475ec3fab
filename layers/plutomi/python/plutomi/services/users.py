"""The signed-in person's own profile."""

from __future__ import annotations

from plutomi.domain import events
from plutomi.domain.errors import NotFound
from plutomi.domain.models import User
from plutomi.services.auth import Principal
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


@transactional
def update_profile(
    deps: Dependencies, principal: Principal, first_name: str | None, last_name: str | None
) -> User:
    changes = {
        name: value.strip()
        for name, value in (("first_name", first_name), ("last_name", last_name))
        if value is not None
    }
    if not changes:
        return principal.user
    user = deps.store.users.update(principal.user.id, deps.clock.now(), **changes)
    if user is None:
        raise NotFound("user_not_found", "Your account no longer exists")
    deps.emit(events.USER_UPDATED, None, {"user_id": user.id, "changed": sorted(changes)})
    return user
