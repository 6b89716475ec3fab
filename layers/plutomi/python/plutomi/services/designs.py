"""Reading designs: an application, its stages in order, a stage. Shared by the design use cases
(`applications`) and the applicant ones (`applicants`, `moves`)."""

from __future__ import annotations

from dataclasses import dataclass

from plutomi.domain.errors import NotFound
from plutomi.domain.pipeline import Application, Stage
from plutomi.services.ports import Dependencies


@dataclass(frozen=True)
class Design:
    application: Application
    stages: list[Stage]  # in the application's order


def load_application(deps: Dependencies, org_id: str, application_id: str) -> Application:
    application = deps.store.applications.get(org_id, application_id)
    if application is None:
        raise NotFound("application_not_found", f"No application {application_id!r} in this organisation")
    return application


def load_stage(deps: Dependencies, org_id: str, application_id: str, stage_id: str) -> Stage:
    stage = deps.store.stages.get(org_id, application_id, stage_id)
    if stage is None:
        raise NotFound("stage_not_found", f"No stage {stage_id!r} in this application")
    return stage


def ordered_stages(deps: Dependencies, application: Application) -> list[Stage]:
    by_id = {s.id: s for s in deps.store.stages.list_for_application(application.org_id, application.id)}
    return [by_id[stage_id] for stage_id in application.stage_ids if stage_id in by_id]


def design_of(deps: Dependencies, application: Application) -> Design:
    return Design(application=application, stages=ordered_stages(deps, application))
