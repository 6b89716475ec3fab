"""The signed-in person."""

from __future__ import annotations

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, principal
from plutomi.services import users

router = Router()


@router.get("/users/me", summary="Who am I")
def get_me() -> schemas.UserOut:
    return schemas.UserOut.of(principal(router).user)


@router.patch("/users/me", summary="Update my name")
def update_me(body: schemas.UpdateMe) -> schemas.UserOut:
    user = users.update_profile(dependencies(), principal(router), body.first_name, body.last_name)
    return schemas.UserOut.of(user)


app = create_resolver(router)
handler = lambda_handler(app)
