"""The applicant's private portal: proving a portal token, and what the portal shows. Shared by the
use cases an applicant reaches with their link (answers, withdrawing, uploads)."""

from __future__ import annotations

from dataclasses import dataclass, field

from plutomi.domain.applicants import Applicant
from plutomi.domain.documents import Document, DocumentState
from plutomi.domain.errors import NotFound
from plutomi.domain.identity import hash_secret, secrets_match
from plutomi.domain.pipeline import Application, Stage
from plutomi.services.orgs import require_live_org
from plutomi.services.ports import Dependencies

PORTAL_NOT_FOUND = "This link is not valid any more; apply again with your email to get a new one"


@dataclass(frozen=True)
class Portal:
    applicant: Applicant
    application: Application
    stage: Stage | None
    documents: list[Document] = field(default_factory=list)  # what the file answers name


def applicant_from_token(deps: Dependencies, token: str) -> Applicant:
    """The applicant whose live portal link this is; 404 `portal_not_found` for anything else."""
    applicant_id, _, secret = token.partition(".")
    applicant = (
        deps.store.applicants.get_for_portal(applicant_id) if applicant_id.startswith("apl_") else None
    )
    if applicant is None or applicant.is_deleted or not secret:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    candidate = hash_secret(deps.settings.session_secret, "portal", applicant.id, secret)
    matched = False
    for live in applicant.portal_secret_hashes:  # every one compared: timing tells nothing
        matched |= secrets_match(live, candidate)
    if not matched:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    require_live_org(deps, applicant.org_id, NotFound("portal_not_found", PORTAL_NOT_FOUND))
    return applicant


def portal_of(deps: Dependencies, applicant: Applicant) -> Portal:
    application = deps.store.applications.get(applicant.org_id, applicant.application_id)
    if application is None:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    stage = (
        deps.store.stages.get(applicant.org_id, applicant.application_id, applicant.stage_id)
        if applicant.stage_id
        else None
    )
    return Portal(
        applicant=applicant,
        application=application,
        stage=stage,
        documents=confirmed_documents(deps, applicant),
    )


def confirmed_documents(deps: Dependencies, applicant: Applicant) -> list[Document]:
    """The applicant's confirmed documents, oldest first (pending uploads count for nobody)."""
    found = deps.store.documents.for_applicant(applicant.org_id, applicant.id)
    return [document for document in found if document.state is DocumentState.CONFIRMED]
