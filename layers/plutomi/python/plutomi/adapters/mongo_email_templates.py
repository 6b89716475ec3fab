"""Store repository for an org's decision-email templates.

One template per org and kind (and stage, for stage entry), kept unique by `unique_key`. A template
changes by whole-document replace under its `version` (not `$set`: nx-27017 would store the new
`updated_at` as a string); creating one that a concurrent request created first is `DuplicateItem`.
"""

from __future__ import annotations

from plutomi.adapters.mongo_base import Repository, to_document, where
from plutomi.domain.email_templates import EmailTemplate, TemplateKind


def template_key(org_id: str, kind: TemplateKind, stage_id: str | None) -> str:
    return f"email-template:{org_id}:{kind.value}:{stage_id or '-'}"


class EmailTemplates(Repository):
    def get(self, org_id: str, kind: TemplateKind, stage_id: str | None = None) -> EmailTemplate | None:
        return self._find_one(
            EmailTemplate, where(unique_key=template_key(org_id, kind, stage_id), org_id=org_id)
        )

    def list_for_org(self, org_id: str) -> list[EmailTemplate]:
        query = where(type=EmailTemplate.TYPE, org_id=org_id)
        return list(self._find(EmailTemplate, query, [("created_at", 1)]))

    def create(self, template: EmailTemplate) -> None:
        """Raises DuplicateItem when the org already has this template."""
        self._insert(template, unique_key=template_key(template.org_id, template.kind, template.stage_id))

    def replace(self, before: EmailTemplate, after: EmailTemplate) -> EmailTemplate | None:
        """Stores `after` if nobody changed the template since `before` was read; None otherwise."""
        saved = after.model_copy(update={"version": before.version + 1})
        key = template_key(before.org_id, before.kind, before.stage_id)
        result = self._items.replace_one(
            where(unique_key=key, org_id=before.org_id, version=before.version),
            to_document(saved, unique_key=key),
        )
        return saved if result.matched_count == 1 else None

    def delete(self, org_id: str, kind: TemplateKind, stage_id: str | None = None) -> EmailTemplate | None:
        """Removes the template; the one removed, or None when there was none."""
        found = self._items.find_one_and_delete(
            where(unique_key=template_key(org_id, kind, stage_id), org_id=org_id)
        )
        return EmailTemplate.model_validate(found) if found is not None else None
