"""Unit tests for plutomi.domain.models, plutomi.domain.events and plutomi.domain.errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from plutomi.domain import events
from plutomi.domain.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PlutomiError,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from plutomi.domain.events import EVENT_TYPES, SUBJECT_PREFIX, Event, subject_for
from plutomi.domain.models import (
    Invite,
    InviteStatus,
    Item,
    LoginCode,
    Membership,
    Org,
    OrgItem,
    Role,
    Session,
    User,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _invite(**overrides: object) -> Invite:
    doc: dict[str, object] = {
        "_id": "inv_01HX0000000000000000000000",
        "created_at": NOW,
        "updated_at": NOW,
        "org_id": "acme",
        "email": "bob@example.com",
        "role": "admin",
        "invited_by": "usr_01HX0000000000000000000000",
        "org_display_name": "Acme",
        "expires_at": NOW + timedelta(days=7),
    }
    doc.update(overrides)
    return Invite.model_validate(doc)


# ---------------------------------------------------------------------- models


def test_role_and_status_values() -> None:
    assert {r.value for r in Role} == {"owner", "admin", "member"}
    assert {s.value for s in InviteStatus} == {"pending", "accepted", "declined", "canceled"}
    assert Role("admin") is Role.ADMIN
    assert str(Role.OWNER) == "owner"
    assert Role.OWNER.value == "owner"


def test_document_types_are_distinct() -> None:
    kinds: list[type[Item]] = [User, Session, LoginCode, Org, Membership, Invite]
    types = [k.TYPE for k in kinds]
    assert all(types)
    assert len(set(types)) == len(types)
    assert Item.TYPE == ""


def test_item_reads_underscore_id_alias() -> None:
    user = User.model_validate({"_id": "usr_1", "created_at": NOW, "updated_at": NOW, "email": "a@b.io"})
    assert user.id == "usr_1"
    assert user.first_name == ""
    assert user.last_name == ""
    assert user.email_verified_at is None


def test_item_populates_by_field_name_too() -> None:
    user = User(id="usr_2", created_at=NOW, updated_at=NOW, email="a@b.io")
    assert user.id == "usr_2"
    by_name = User.model_validate({"id": "usr_3", "created_at": NOW, "updated_at": NOW, "email": "x@y.io"})
    assert by_name.id == "usr_3"


def test_item_dumps_underscore_id_by_alias() -> None:
    user = User(id="usr_2", created_at=NOW, updated_at=NOW, email="a@b.io")
    assert user.model_dump(by_alias=True)["_id"] == "usr_2"
    assert "id" not in user.model_dump(by_alias=True)
    assert user.model_dump()["id"] == "usr_2"


def test_item_ignores_extra_fields_such_as_type() -> None:
    org = Org.model_validate(
        {
            "_id": "org_x",
            "type": "org",
            "unknown": 1,
            "created_at": NOW,
            "updated_at": NOW,
            "org_id": "acme",
            "display_name": "Acme",
            "created_by": "usr_1",
        }
    )
    assert org.org_id == "acme"
    assert not hasattr(org, "unknown")
    assert isinstance(org, OrgItem)


def test_item_requires_id_and_timestamps() -> None:
    with pytest.raises(ValidationError):
        User.model_validate({"created_at": NOW, "updated_at": NOW, "email": "a@b.io"})
    with pytest.raises(ValidationError):
        User.model_validate({"_id": "usr_1", "updated_at": NOW, "email": "a@b.io"})


def test_document_round_trip_through_alias() -> None:
    session = Session(
        id="ses_1",
        created_at=NOW,
        updated_at=NOW,
        user_id="usr_1",
        secret_hash="ab" * 32,
        expires_at=NOW + timedelta(days=30),
    )
    assert Session.model_validate(session.model_dump(by_alias=True)) == session
    assert Session.model_validate_json(session.model_dump_json(by_alias=True)) == session


def test_login_code_defaults() -> None:
    code = LoginCode(
        id="otp_1", created_at=NOW, updated_at=NOW, email="a@b.io", code_hash="h", expires_at=NOW
    )
    assert code.attempts == 0
    assert code.used_at is None


def test_membership_role_is_validated() -> None:
    base = {"_id": "mem_1", "created_at": NOW, "updated_at": NOW, "org_id": "acme", "user_id": "u"}
    member = Membership.model_validate({**base, "email": "a@b.io", "role": "owner"})
    assert member.role is Role.OWNER
    with pytest.raises(ValidationError):
        Membership.model_validate({**base, "email": "a@b.io", "role": "superuser"})


def test_invite_defaults() -> None:
    invite = _invite()
    assert invite.status is InviteStatus.PENDING
    assert invite.responded_at is None
    assert invite.role is Role.ADMIN


def test_invite_is_expired_boundaries() -> None:
    invite = _invite()
    assert not invite.is_expired(NOW)
    assert not invite.is_expired(invite.expires_at - timedelta(microseconds=1))
    assert invite.is_expired(invite.expires_at)
    assert invite.is_expired(invite.expires_at + timedelta(seconds=1))


def test_invite_is_expired_across_timezones() -> None:
    invite = _invite(expires_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    plus_two = timezone(timedelta(hours=2))
    assert invite.is_expired(datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    assert not invite.is_expired(datetime(2024, 5, 1, 13, 59, tzinfo=plus_two))


# ---------------------------------------------------------------------- events


def test_event_types_catalogue() -> None:
    constants = {
        value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str) and name != "SUBJECT_PREFIX"
    }
    assert constants == EVENT_TYPES
    for event_type in EVENT_TYPES:
        entity, dot, action = event_type.partition(".")
        assert dot == "."
        assert entity
        assert action
        assert "." not in action
        assert event_type == event_type.lower()
        assert " " not in event_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_subject_for_known_types(event_type: str) -> None:
    assert subject_for(event_type) == f"{SUBJECT_PREFIX}.{event_type}"
    assert subject_for(event_type).startswith("events.")


def test_subject_for_examples() -> None:
    assert subject_for(events.INVITE_CREATED) == "events.invite.created"
    assert subject_for(events.TOTP_REQUESTED) == "events.totp.requested"


@pytest.mark.parametrize(
    "event_type", ["", "invite", "invite.exploded", "Invite.Created", "events.invite.created", "*", ">"]
)
def test_subject_for_rejects_unknown_types(event_type: str) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        subject_for(event_type)


def _event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "id": "evt_01HX0000000000000000000000",
        "type": events.INVITE_CREATED,
        "org_id": "acme",
        "occurred_at": NOW,
        "data": {"invite_id": "inv_1", "email": "bob@example.com", "nested": {"n": [1, 2, None]}},
    }
    fields.update(overrides)
    return Event.model_validate(fields)


def test_event_json_round_trip() -> None:
    event = _event()
    wire = event.model_dump_json()
    parsed = json.loads(wire)
    assert parsed["type"] == "invite.created"
    assert parsed["version"] == 1
    assert parsed["org_id"] == "acme"
    back = Event.model_validate_json(wire)
    assert back == event
    assert back.occurred_at == NOW
    assert back.occurred_at.tzinfo is not None
    assert back.data["nested"] == {"n": [1, 2, None]}


def test_event_round_trip_without_org() -> None:
    event = _event(type=events.USER_CREATED, org_id=None, data={})
    assert Event.model_validate_json(event.model_dump_json()) == event
    assert json.loads(event.model_dump_json())["org_id"] is None


def test_event_org_id_is_required_even_if_none() -> None:
    with pytest.raises(ValidationError):
        Event.model_validate({"id": "e", "type": events.USER_CREATED, "occurred_at": NOW, "data": {}})


def test_event_subject_property() -> None:
    assert _event().subject == "events.invite.created"
    with pytest.raises(ValueError, match="unknown event type"):
        _ = _event(type="nope.never").subject


def test_event_is_frozen() -> None:
    event = _event()
    with pytest.raises(ValidationError):
        event.type = events.ORG_DELETED  # type: ignore[misc]


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("cls", "kind"),
    [
        (InvalidInput, "invalid"),
        (Unauthenticated, "unauthenticated"),
        (Forbidden, "forbidden"),
        (NotFound, "not_found"),
        (Conflict, "conflict"),
        (Gone, "gone"),
    ],
)
def test_error_kinds(cls: type[PlutomiError], kind: str) -> None:
    error = cls("some_code", "Something happened")
    assert error.kind == kind
    assert error.code == "some_code"
    assert error.message == "Something happened"
    assert str(error) == "Something happened"
    assert isinstance(error, PlutomiError)
    assert isinstance(error, Exception)


def test_error_kinds_are_distinct() -> None:
    classes: list[type[PlutomiError]] = [
        InvalidInput,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        RateLimited,
        Unavailable,
    ]
    kinds = [c.kind for c in classes]
    assert len(set(kinds)) == len(kinds)


@pytest.mark.parametrize(("given", "expected"), [(30, 30), (1, 1), (0, 1), (-5, 1)])
def test_rate_limited_retry_after_is_at_least_one(given: int, expected: int) -> None:
    error = RateLimited("too_many", "Slow down", given)
    assert error.retry_after_seconds == expected
    assert error.kind == "rate_limited"
    assert error.code == "too_many"


def test_unavailable_default_retry_after() -> None:
    assert Unavailable("bus_down", "Try again").retry_after_seconds == 5
    assert Unavailable("bus_down", "Try again", 12).retry_after_seconds == 12
    assert Unavailable("bus_down", "Try again").kind == "unavailable"
