"""Store repositories for the applicant pipeline: applications, stages and applicants.

Designs change under optimistic concurrency (`version`), applicants move with one conditional update
that names the stage they are leaving, so two movers never both succeed.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Document, Repository, to_document, where
from plutomi.adapters.mongo_stage_counts import StageCounts
from plutomi.domain.applicants import Applicant, Place, counted_place
from plutomi.domain.decisions import ApplicantStatus, RejectionReason, label_key
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.errors import DuplicateItem
from plutomi.domain.pipeline import Application, Stage


class Applications(Repository):
    def __init__(self, items: Collection[Document], counts: StageCounts) -> None:
        super().__init__(items)
        self._counts = counts

    def create(self, application: Application) -> None:
        self._insert(application)

    def get(self, org_id: str, application_id: str) -> Application | None:
        return self._find_one(Application, where(_id=application_id, type=Application.TYPE, org_id=org_id))

    def list_for_org(self, org_id: str) -> list[Application]:
        return list(self._find(Application, where(type=Application.TYPE, org_id=org_id), [("created_at", 1)]))

    def every_org(self) -> Iterator[Application]:
        """`plutomi recount`: every application of every org (the `type_org_created` index)."""
        return self._find(Application, where(type=Application.TYPE), [("org_id", 1), ("created_at", 1)])

    def update(self, application: Application, now: datetime, **changes: Any) -> Application | None:
        """Applies `changes` if nobody changed the application since it was read; None otherwise."""
        return self._update(
            Application,
            where(
                _id=application.id,
                type=Application.TYPE,
                org_id=application.org_id,
                version=application.version,
            ),
            {"$set": {**changes, "updated_at": now}, "$inc": {"version": 1}},
        )

    def delete(self, org_id: str, application_id: str) -> None:
        self._items.delete_one(where(_id=application_id, type=Application.TYPE, org_id=org_id))
        self._counts.forget_application(org_id, application_id)


class Stages(Repository):
    def __init__(self, items: Collection[Document], counts: StageCounts) -> None:
        super().__init__(items)
        self._counts = counts

    def create(self, stage: Stage) -> None:
        self._insert(stage, sort_key=stage.id)

    def get(self, org_id: str, application_id: str, stage_id: str) -> Stage | None:
        return self._find_one(
            Stage, where(_id=stage_id, type=Stage.TYPE, org_id=org_id, application_id=application_id)
        )

    def list_for_application(self, org_id: str, application_id: str) -> list[Stage]:
        query = where(type=Stage.TYPE, org_id=org_id, application_id=application_id)
        return list(self._find(Stage, query, [("sort_key", 1)]))

    def update(self, stage: Stage, now: datetime, **changes: Any) -> Stage | None:
        return self._update(
            Stage,
            where(_id=stage.id, type=Stage.TYPE, org_id=stage.org_id, version=stage.version),
            {"$set": {**changes, "updated_at": now}, "$inc": {"version": 1}},
        )

    def delete(self, org_id: str, stage_id: str) -> None:
        self._items.delete_one(where(_id=stage_id, type=Stage.TYPE, org_id=org_id))
        self._counts.forget_stage(org_id, stage_id)

    def delete_all_for_application(self, org_id: str, application_id: str) -> None:
        self._items.delete_many(where(type=Stage.TYPE, org_id=org_id, application_id=application_id))


class Applicants(Repository):
    """Every write of an applicant's stage or status goes through `create` or `save`, which keep the
    stage counters (`mongo_stage_counts`) in step with the write that succeeded."""

    def __init__(self, items: Collection[Document], counts: StageCounts) -> None:
        super().__init__(items)
        self._counts = counts

    def create(self, applicant: Applicant) -> None:
        assert applicant.email is not None
        self._insert(applicant, **self.index_fields(applicant))
        self._counts.moved(None, counted_place(applicant))

    @staticmethod
    def email_key(application_id: str, email: str) -> str:
        return f"applicant:{application_id}:{email}"

    @staticmethod
    def index_fields(applicant: Applicant) -> dict[str, Any]:
        """What the store adds to an applicant's document for its indexes: `sort_key` (id order),
        `unique_key` (one applicant per email and application) and, while a deadline is set,
        `idle_deadline_ms` (the idle deadline in milliseconds since the epoch).

        The sweeper filters on `idle_deadline_ms`, not on the `idle_deadline` date: nx-27017 never
        serves a date comparison from an index and sorts and limits such a query in Python (its
        `explain` still names the index), so with the date as its only condition every batch read the
        whole collection. A number keeps the sweep's cost to the applicants due. MongoDB serves both."""
        fields: dict[str, Any] = {"sort_key": applicant.id}
        if applicant.email is not None and not applicant.is_deleted:
            fields["unique_key"] = Applicants.email_key(applicant.application_id, applicant.email)
        if applicant.idle_deadline is not None:
            fields["idle_deadline_ms"] = epoch_ms(applicant.idle_deadline)
        return fields

    def get(self, org_id: str, applicant_id: str) -> Applicant | None:
        return self._find_one(Applicant, where(_id=applicant_id, type=Applicant.TYPE, org_id=org_id))

    def get_for_portal(self, applicant_id: str) -> Applicant | None:
        """The applicant behind a portal token; the caller proves the token before showing anything."""
        return self._find_one(Applicant, where(_id=applicant_id, type=Applicant.TYPE))

    def get_by_email(self, org_id: str, application_id: str, email: str) -> Applicant | None:
        return self._find_one(
            Applicant, where(unique_key=self.email_key(application_id, email), org_id=org_id)
        )

    def page(
        self,
        org_id: str,
        application_id: str,
        stage_id: str | None,
        after: str | None,
        limit: int,
        status: ApplicantStatus | None = ApplicantStatus.ACTIVE,
        newest_first: bool = False,
    ) -> list[Applicant]:
        """Applicants in id order (application order) after the cursor: stable when others apply
        meanwhile; `newest_first` walks the same index backwards. Erased ones are left out (they keep
        only an anonymous history). `status` None: every status."""
        query = where(type=Applicant.TYPE, org_id=org_id, application_id=application_id, deleted_at=None)
        if stage_id is not None:
            query["stage_id"] = {"$eq": stage_id}
        if status is not None:
            query["status"] = {"$eq": status.value}
        if after is not None:
            query["sort_key"] = {"$lt" if newest_first else "$gt": after}
        cursor = self._items.find(query).sort([("sort_key", -1 if newest_first else 1)]).limit(limit)
        return [Applicant.model_validate(document) for document in cursor]

    @staticmethod
    def _in_stage(org_id: str, application_id: str, stage_id: str) -> Document:
        return where(type=Applicant.TYPE, org_id=org_id, application_id=application_id, stage_id=stage_id)

    @staticmethod
    def _of_application(org_id: str, application_id: str) -> Document:
        return where(type=Applicant.TYPE, org_id=org_id, application_id=application_id)

    def any_in_stage(self, org_id: str, application_id: str, stage_id: str) -> bool:
        return self._count_up_to(self._in_stage(org_id, application_id, stage_id), 1) > 0

    def count_in_stage(self, org_id: str, application_id: str, stage_id: str) -> int:
        """Cold path only: for the message refusing to delete a stage that `any_in_stage` found held."""
        return self._count_all_cold_path_only(self._in_stage(org_id, application_id, stage_id))

    def in_stage(self, org_id: str, application_id: str, stage_id: str) -> Iterator[Applicant]:
        return self._find(Applicant, self._in_stage(org_id, application_id, stage_id), [("sort_key", 1)])

    def any_for_application(self, org_id: str, application_id: str) -> bool:
        return self._count_up_to(self._of_application(org_id, application_id), 1) > 0

    def count_for_application(self, org_id: str, application_id: str) -> int:
        """Cold path only: for the message refusing to delete an application that
        `any_for_application` found held."""
        return self._count_all_cold_path_only(self._of_application(org_id, application_id))

    def save(self, before: Applicant, after: Applicant, now: datetime) -> Applicant | None:
        """Replaces the applicant with `after` if nobody changed it since `before` was read.

        A whole-document replace under the version (not `$set`): nx-27017 stores a datetime written
        with `$set` as a string, and the idle deadline and stage times must stay comparable dates."""
        saved = after.model_copy(update={"version": before.version + 1, "updated_at": now})
        result = self._items.replace_one(
            where(_id=before.id, type=Applicant.TYPE, org_id=before.org_id, version=before.version),
            to_document(saved, **self.index_fields(saved)),
        )
        if result.matched_count != 1:
            return None
        self._counts.moved(counted_place(before), counted_place(saved))
        return saved

    def places(self, org_id: str, application_id: str) -> Counter[Place]:
        """`plutomi recount`: where the application's applicants count, read through the
        `type_org_app_sort` index (the application's applicants only, three fields each)."""
        found: Counter[Place] = Counter()
        projection = {"stage_id": 1, "status": 1, "deleted_at": 1}
        for document in self._items.find(self._of_application(org_id, application_id), projection):
            if document.get("deleted_at") is None and document.get("stage_id") is not None:
                status = ApplicantStatus(document.get("status") or ApplicantStatus.ACTIVE.value)
                found[Place(org_id, application_id, document["stage_id"], status)] += 1
        return found

    def backfill_status(self) -> int:
        """`plutomi migrate`: gives applicants stored before decisions existed `status: active`, so the
        status indexes list them. Idempotent (only documents without one match); the version moves on,
        so a change read before the backfill is written again rather than lost."""
        result = self._items.update_many(
            where(type=Applicant.TYPE, status=None),
            {"$set": {"status": ApplicantStatus.ACTIVE.value}, "$inc": {"version": 1}},
        )
        return result.modified_count

    def due_for_idle_move(self, now: datetime, limit: int) -> list[Applicant]:
        """Applicants whose idle deadline has passed, earliest first. Uses the `idle_deadline_ms` index,
        so the cost follows the number due, not the number of applicants (see `index_fields`)."""
        query = {"idle_deadline_ms": {"$lte": epoch_ms(now)}}
        cursor = self._items.find(query).sort([("idle_deadline_ms", 1)]).limit(limit)
        return [Applicant.model_validate(document) for document in cursor]


class RejectionReasons(Repository):
    """An org's rejection reasons. Each label is unique in its org (case-insensitively) through
    `unique_key`, which also makes creating the defaults idempotent; `seeded` records that the
    defaults were created once, so a default the org deleted stays deleted."""

    def create(self, reason: RejectionReason) -> None:
        self._insert(reason, unique_key=label_key(reason.org_id, reason.label), sort_key=reason.id)

    def get(self, org_id: str, reason_id: str) -> RejectionReason | None:
        return self._find_one(RejectionReason, where(_id=reason_id, type=RejectionReason.TYPE, org_id=org_id))

    def list_for_org(self, org_id: str) -> list[RejectionReason]:
        query = where(type=RejectionReason.TYPE, org_id=org_id)
        return list(self._find(RejectionReason, query, [("created_at", 1)]))

    def count_for_org(self, org_id: str, up_to: int) -> int:
        """The org's reasons, counted no further than `up_to` (enough to check a limit)."""
        return self._count_up_to(where(type=RejectionReason.TYPE, org_id=org_id), up_to)

    def update(
        self, before: RejectionReason, after: RejectionReason, now: datetime
    ) -> RejectionReason | None:
        """Replaces the reason with `after` if nobody changed it since `before` was read; None otherwise.
        Raises DuplicateItem when another reason of the org has the new label."""
        saved = after.model_copy(update={"version": before.version + 1, "updated_at": now})
        document = to_document(saved, unique_key=label_key(saved.org_id, saved.label), sort_key=saved.id)
        try:
            result = self._items.replace_one(
                where(_id=before.id, type=RejectionReason.TYPE, org_id=before.org_id, version=before.version),
                document,
            )
        except DuplicateKeyError as error:
            raise DuplicateItem(str(error)) from error
        return saved if result.matched_count == 1 else None

    def delete(self, org_id: str, reason_id: str) -> bool:
        result = self._items.delete_one(where(_id=reason_id, type=RejectionReason.TYPE, org_id=org_id))
        return result.deleted_count == 1

    @staticmethod
    def _seeded_id(org_id: str) -> str:
        return f"rejection_reasons_seeded_{org_id}"

    def seeded(self, org_id: str) -> bool:
        return self._items.find_one(where(_id=self._seeded_id(org_id), org_id=org_id)) is not None

    def mark_seeded(self, org_id: str, now: datetime) -> None:
        """Records that the org's defaults exist; carries the org id, so the org's purge removes it."""
        document = {
            "type": "rejection_reasons_seeded",
            "org_id": org_id,
            "created_at": now,
            "updated_at": now,
        }
        with contextlib.suppress(DuplicateKeyError):  # another first read got there first
            self._items.insert_one({"_id": self._seeded_id(org_id), **document})
