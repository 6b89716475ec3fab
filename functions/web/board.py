"""The pipeline board: a column per stage with its live counts and its first applicants, "load more"
per column, a status filter, and moving a card (dragged, or with its "Move to" menu) to another stage.

A move names the column the card was in: when someone else moved the applicant first, the service's
409 comes back as the board refreshed, with a notice of where the applicant is now.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.applicants import Applicant
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.errors import Conflict, InvalidInput, NotFound
from plutomi.services import applicants, board
from plutomi.services.auth import Principal
from plutomi.web import pages

router = pages.Router()
PER_COLUMN = 20
BOARD = "/app/<org_id>/applications/<application_id>/board"
STATUS_LABELS = {
    ApplicantStatus.ACTIVE: "Active",
    ApplicantStatus.REJECTED: "Rejected",
    ApplicantStatus.WITHDRAWN: "Withdrawn",
    ApplicantStatus.ACCEPTED: "Accepted (hired)",
}
ORDERS = {"oldest": "Oldest first", "newest": "Newest first"}
REFRESHED = "The board shows where everyone is now."


@router.get(BOARD)
def show_board(org_id: str, application_id: str) -> Response[str]:
    me = pages.signed_in(router)
    view = _view(router.current_event.query_string_parameters or {})
    stage_id = pages.query(router, "stage")
    cursor = pages.query(router, "cursor")
    if stage_id and cursor and pages.is_htmx(router):
        return _more_cards(me, org_id, application_id, stage_id, cursor, view)
    return _board_page(me, org_id, application_id, view, more=(stage_id, cursor) if cursor else None)


@router.post(f"{BOARD}/move")
def move_card(org_id: str, application_id: str) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    view = _view(form.first_values())
    applicant_id, from_stage_id, to_stage_id = (
        form.get("applicant_id"),
        form.get("from_stage_id"),
        form.get("to_stage_id"),
    )
    deps = dependencies()
    try:
        moved = applicants.move_applicant(deps, me, org_id, applicant_id, from_stage_id, to_stage_id)
    except (Conflict, InvalidInput) as error:
        notice = _why_not_moved(me, org_id, applicant_id, error)
        status = HTTPStatus.CONFLICT if isinstance(error, Conflict) else HTTPStatus.UNPROCESSABLE_ENTITY
        return _board_page(me, org_id, application_id, view, status=status, notice=notice, kind="warn")
    if pages.is_htmx(router):
        notice = f"{_name(moved)} moved to {_stage_name(moved, org_id)}."
        return _board_page(me, org_id, application_id, view, notice=notice, kind="ok")
    return pages.redirect(_board_url(org_id, application_id, view), router=router)


def _view(values: dict[str, str]) -> dict[str, str]:
    """The board's filter (status) and order, checked: what every link and form of the board keeps."""
    status = values.get("status") or ApplicantStatus.ACTIVE.value
    order = values.get("order") or "oldest"
    if status not in {s.value for s in ApplicantStatus}:
        raise InvalidInput("invalid_status", "status must be active, rejected, withdrawn or accepted")
    if order not in ORDERS:
        raise InvalidInput("invalid_order", "order must be oldest or newest")
    return {"status": status, "order": order}


def _board_url(org_id: str, application_id: str, view: dict[str, str], **extra: str) -> str:
    return f"/app/{org_id}/applications/{application_id}/board?{urlencode({**view, **extra})}"


def _load(me: Principal, org_id: str, application_id: str, view: dict[str, str]) -> board.Board:
    return board.board(
        dependencies(),
        me,
        org_id,
        application_id,
        ApplicantStatus(view["status"]),
        newest_first=view["order"] == "newest",
        per_column=PER_COLUMN,
    )


def _board_page(
    me: Principal,
    org_id: str,
    application_id: str,
    view: dict[str, str],
    *,
    status: int = HTTPStatus.OK,
    notice: str = "",
    kind: str = "info",
    more: tuple[str, str] | None = None,
) -> Response[str]:
    loaded = _load(me, org_id, application_id, view)
    if more is not None:  # "load more" without JavaScript: that column continues from its cursor
        loaded = _continued(me, org_id, loaded, view, *more)
    context = _context(org_id, loaded, view, message=notice, kind=kind)
    if pages.is_htmx(router):
        return pages.render("board_region.html", status, **context)
    return pages.recruiter_page(
        router, "board.html", org_id=org_id, section="applications", status=status, me=me, **context
    )


def _continued(
    me: Principal, org_id: str, loaded: board.Board, view: dict[str, str], stage_id: str, cursor: str
) -> board.Board:
    columns = [
        board.Column(column.stage, column.counts, _page(me, org_id, loaded, view, stage_id, cursor))
        if column.stage.id == stage_id
        else column
        for column in loaded.columns
    ]
    return board.Board(loaded.application, columns, loaded.status, loaded.newest_first)


def _page(
    me: Principal, org_id: str, loaded: board.Board, view: dict[str, str], stage_id: str, cursor: str
) -> applicants.Page:
    return applicants.list_applicants(
        dependencies(),
        me,
        org_id,
        loaded.application.id,
        stage_id,
        cursor,
        PER_COLUMN,
        ApplicantStatus(view["status"]),
        newest_first=view["order"] == "newest",
    )


def _more_cards(
    me: Principal, org_id: str, application_id: str, stage_id: str, cursor: str, view: dict[str, str]
) -> Response[str]:
    loaded = _load(me, org_id, application_id, view)
    column = next((c for c in loaded.columns if c.stage.id == stage_id), None)
    if column is None:
        raise NotFound("stage_not_found", f"No stage {stage_id!r} in this application")
    page = _page(me, org_id, loaded, view, stage_id, cursor)
    context = _context(org_id, loaded, view)
    return pages.render("board_cards.html", column=board.Column(column.stage, column.counts, page), **context)


def _context(org_id: str, loaded: board.Board, view: dict[str, str], **extra: Any) -> dict[str, Any]:
    now = dependencies().clock.now()
    application_id = loaded.application.id
    return {
        "board": loaded,
        "view": view,
        "statuses": STATUS_LABELS,
        "status_options": [(status.value, label) for status, label in STATUS_LABELS.items()],
        "order_options": list(ORDERS.items()),
        "stages": [column.stage for column in loaded.columns],
        "move_options": lambda stage_id: [
            (column.stage.id, column.stage.name) for column in loaded.columns if column.stage.id != stage_id
        ],
        "base": f"/app/{org_id}/applications/{application_id}",
        "more_url": lambda stage_id, cursor: _board_url(
            org_id, application_id, view, stage=stage_id, cursor=cursor
        ),
        "in_stage": lambda applicant: time_in_stage(applicant, now),
        "message": "",
        "kind": "info",
        **extra,
    }


def time_in_stage(applicant: Applicant, now: datetime) -> str:
    """How long the applicant has been in their stage, as a person says it."""
    if applicant.stage_entered_at is None:
        return ""
    minutes = int((now - applicant.stage_entered_at).total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'} in stage"
    return "Just arrived"


def _name(applicant: Applicant) -> str:
    return f"{applicant.first_name} {applicant.last_name}".strip() or "The applicant"


def _stage_name(applicant: Applicant, org_id: str) -> str:
    if applicant.stage_id is None:
        return "no stage"
    stage = dependencies().store.stages.get(org_id, applicant.application_id, applicant.stage_id)
    return stage.name if stage else "another stage"


def _why_not_moved(me: Principal, org_id: str, applicant_id: str, error: Conflict | InvalidInput) -> str:
    """The refused move, said with where the applicant is now (a stale board's usual case)."""
    try:
        current = applicants.get_applicant(dependencies(), me, org_id, applicant_id)
    except NotFound:
        return f"That applicant is no longer here (erased). {REFRESHED}"
    if not current.is_active:
        return f"{_name(current)} is {current.status.value} now, so they were not moved. {REFRESHED}"
    if error.code == "applicant_not_in_stage":
        where = _stage_name(current, org_id)
        return f"{_name(current)} was already moved to {where} by someone else. {REFRESHED}"
    return f"{_name(current)} was not moved: {error.message}"


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
