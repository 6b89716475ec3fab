"""How many applicants each stage holds, by status, kept as counters instead of counted.

One document per stage (`_id` `stage_count:<stage id>`, carrying the org, application and stage ids)
with one number per status. `Applicants.create` and `Applicants.save` change them with `$inc` after
their own write succeeded, so each change of an applicant's place (stage, status, erased) is counted
exactly once however often an event is redelivered: a retried move or decision that finds its
precondition gone writes nothing and counts nothing. In a transaction the counters commit with the
applicant; without one, a process that dies between the two writes leaves a counter off by one until
`plutomi recount` rebuilds it.

Why counters: nx-27017 answers `count_documents` by reading the whole collection, and even an index
walk costs in proportion to the stage, while the board shows every stage's count on every load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from plutomi.adapters.mongo_base import Document, Repository, where
from plutomi.domain.applicants import Place, StageTally
from plutomi.domain.decisions import ApplicantStatus

TYPE = "stage_count"
STATUSES = tuple(status.value for status in ApplicantStatus)


def _counter_id(stage_id: str) -> str:
    return f"{TYPE}:{stage_id}"


class StageCounts(Repository):
    def moved(self, before: Place | None, after: Place | None) -> None:
        """Counts an applicant leaving `before` and entering `after` (None: not counted anywhere)."""
        if before == after:
            return
        if before is not None:
            self._add(before, -1)
        if after is not None:
            self._add(after, 1)

    def _add(self, place: Place, delta: int) -> None:
        # Upsert on `_id` alone: the other fields come from `$setOnInsert` (a filter field would be
        # copied into the new document too, and clash with it). `tests/integration/test_store_contract.py`
        # pins this shape on nx-27017.
        self._items.update_one(
            where(_id=_counter_id(place.stage_id)),
            {
                "$inc": {place.status.value: delta},
                "$setOnInsert": _identity(place.org_id, place.application_id, place.stage_id),
            },
            upsert=True,
        )

    def for_application(self, org_id: str, application_id: str) -> dict[str, StageTally]:
        """Each stage's counts by status (stages nobody ever entered are absent): one indexed read of
        one small document per stage, whatever the number of applicants."""
        query = where(type=TYPE, org_id=org_id, application_id=application_id)
        return {document["stage_id"]: _tally(document) for document in self._items.find(query)}

    def for_org(self, org_id: str) -> dict[str, StageTally]:
        """Each application's counts by status, its stages added up: one indexed read of the org's
        counters (one small document per stage)."""
        totals: dict[str, StageTally] = {}
        for document in self._items.find(where(type=TYPE, org_id=org_id)):
            total = totals.setdefault(document["application_id"], dict.fromkeys(ApplicantStatus, 0))
            for status, number in _tally(document).items():
                total[status] += number
        return totals

    def replace(
        self, org_id: str, application_id: str, stage_ids: Iterable[str], found: Counter[Place]
    ) -> None:
        """`plutomi recount`: sets the application's counters to what was counted (zero for a stage in
        `stage_ids` with nobody), and drops counters of stages that no longer exist."""
        stages = set(stage_ids) | {place.stage_id for place in found}
        for stage_id in stages:
            numbers = {
                status: found[Place(org_id, application_id, stage_id, ApplicantStatus(status))]
                for status in STATUSES
            }
            self._items.update_one(
                where(_id=_counter_id(stage_id)),
                {"$set": numbers, "$setOnInsert": _identity(org_id, application_id, stage_id)},
                upsert=True,
            )
        for stage_id in set(self.for_application(org_id, application_id)) - stages:
            self.forget_stage(org_id, stage_id)

    def forget_stage(self, org_id: str, stage_id: str) -> None:
        """A deleted stage's counter (its applicants were moved out first, so it reads zero)."""
        self._items.delete_one(where(_id=_counter_id(stage_id), type=TYPE, org_id=org_id))

    def forget_application(self, org_id: str, application_id: str) -> None:
        self._items.delete_many(where(type=TYPE, org_id=org_id, application_id=application_id))


def _identity(org_id: str, application_id: str, stage_id: str) -> Document:
    """A counter's fields besides its numbers, written when the counter is first upserted."""
    return {"type": TYPE, "org_id": org_id, "application_id": application_id, "stage_id": stage_id}


def _tally(document: Document) -> StageTally:
    return {ApplicantStatus(status): int(document.get(status) or 0) for status in STATUSES}
