"""Stages of an application, and their questions and rules. Members read; admins and owners change."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints.api import Router, create_resolver, json_response, lambda_handler, principal
from plutomi.services import applications

router = Router()
STAGES = "/orgs/<org_id>/applications/<application_id>/stages"
STAGE = f"{STAGES}/<stage_id>"


@router.post(STAGES, status_code=HTTPStatus.CREATED, summary="Add a stage at a position (default last)")
def create_stage(
    org_id: str, application_id: str, body: schemas.CreateStage
) -> Response[schemas.ApplicationOut]:
    design = applications.create_stage(
        dependencies(), principal(router), org_id, application_id, body.name, body.position
    )
    return json_response(HTTPStatus.CREATED, schemas.ApplicationOut.of(design))


@router.get(STAGES, summary="The stages in order, with questions and rules")
def list_stages(org_id: str, application_id: str) -> schemas.StageList:
    design = applications.get_design(dependencies(), principal(router), org_id, application_id)
    return schemas.StageList(stages=[schemas.StageOut.of(s) for s in design.stages])


@router.get(STAGE, summary="A stage with its questions and rules")
def get_stage(org_id: str, application_id: str, stage_id: str) -> schemas.StageOut:
    stage = applications.get_stage(dependencies(), principal(router), org_id, application_id, stage_id)
    return schemas.StageOut.of(stage)


@router.patch(STAGE, summary="Rename a stage or move it to a position")
def update_stage(
    org_id: str, application_id: str, stage_id: str, body: schemas.UpdateStage
) -> schemas.ApplicationOut:
    design = applications.update_stage(
        dependencies(), principal(router), org_id, application_id, stage_id, body.name, body.position
    )
    return schemas.ApplicationOut.of(design)


@router.delete(STAGE, summary="Delete a stage; move its applicants with move_applicants_to")
def delete_stage(
    org_id: str,
    application_id: str,
    stage_id: str,
    move_applicants_to: Annotated[str | None, Query(description="another stage of this application")] = None,
) -> schemas.ApplicationOut:
    design = applications.delete_stage(
        dependencies(), principal(router), org_id, application_id, stage_id, move_applicants_to
    )
    return schemas.ApplicationOut.of(design)


@router.post(f"{STAGE}/questions", status_code=HTTPStatus.CREATED, summary="Add a question at a position")
def add_question(
    org_id: str, application_id: str, stage_id: str, body: schemas.CreateQuestion
) -> Response[schemas.StageOut]:
    fields = body.model_dump(exclude={"position"})
    stage = applications.add_question(
        dependencies(), principal(router), org_id, application_id, stage_id, fields, body.position
    )
    return json_response(HTTPStatus.CREATED, schemas.StageOut.of(stage))


@router.patch(f"{STAGE}/questions/<question_id>", summary="Change a question or move it")
def update_question(
    org_id: str, application_id: str, stage_id: str, question_id: str, body: schemas.UpdateQuestion
) -> schemas.StageOut:
    fields = body.model_dump(exclude={"position"}, exclude_none=True)
    stage = applications.update_question(
        dependencies(),
        principal(router),
        org_id,
        application_id,
        stage_id,
        question_id,
        fields,
        body.position,
    )
    return schemas.StageOut.of(stage)


@router.delete(f"{STAGE}/questions/<question_id>", summary="Remove a question no rule uses")
def delete_question(org_id: str, application_id: str, stage_id: str, question_id: str) -> schemas.StageOut:
    stage = applications.delete_question(
        dependencies(), principal(router), org_id, application_id, stage_id, question_id
    )
    return schemas.StageOut.of(stage)


@router.post(f"{STAGE}/rules", status_code=HTTPStatus.CREATED, summary="Add an answer or idle rule")
def add_rule(
    org_id: str, application_id: str, stage_id: str, body: schemas.CreateRule
) -> Response[schemas.StageOut]:
    stage = applications.add_rule(
        dependencies(),
        principal(router),
        org_id,
        application_id,
        stage_id,
        body.rule.to_rule(),
        body.position,
    )
    return json_response(HTTPStatus.CREATED, schemas.StageOut.of(stage))


@router.patch(f"{STAGE}/rules/<rule_id>", summary="Replace a rule or move it")
def update_rule(
    org_id: str, application_id: str, stage_id: str, rule_id: str, body: schemas.UpdateRule
) -> schemas.StageOut:
    replacement = body.rule.to_rule() if body.rule is not None else None
    stage = applications.update_rule(
        dependencies(),
        principal(router),
        org_id,
        application_id,
        stage_id,
        rule_id,
        replacement,
        body.position,
    )
    return schemas.StageOut.of(stage)


@router.delete(f"{STAGE}/rules/<rule_id>", summary="Remove a rule")
def delete_rule(org_id: str, application_id: str, stage_id: str, rule_id: str) -> schemas.StageOut:
    stage = applications.delete_rule(
        dependencies(), principal(router), org_id, application_id, stage_id, rule_id
    )
    return schemas.StageOut.of(stage)


app = create_resolver(router)
handler = lambda_handler(app)
