"""What a cold start loads: each check runs in a fresh interpreter, as Lambda imports a function. A
function without the database never loads pymongo (nor boto3), even serving a request, and the store
imports a repository's module only when that repository is first used (bench/cold_start.py times
what this keeps out)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path

import pytest
from pymongo import MongoClient

from plutomi.adapters.mongo_base import Document, Repository
from plutomi.adapters.mongo_store import MongoStore
from plutomi.topology import WITHOUT_DATABASE, module_of
from plutomi.web import assets

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ROOT / "layers" / "plutomi" / "python" / "plutomi" / "adapters"
# The store's own module and what it needs to be built: every other `mongo_*` module holds repositories.
BUILT_WITH_THE_STORE = {"mongo_store", "mongo_base", "mongo_purge"}
REPOSITORY_MODULES = {f"plutomi.adapters.{path.stem}" for path in ADAPTERS.glob("mongo_*.py")} - {
    f"plutomi.adapters.{stem}" for stem in BUILT_WITH_THE_STORE
}
# A store on a client that never connects: building repositories needs no server.
UNCONNECTED_STORE = (
    "from pymongo import MongoClient\n"
    "from plutomi.adapters.mongo_store import MongoStore\n"
    "store = MongoStore(MongoClient('mongodb://127.0.0.1:9', connect=False), 'cold')\n"
)


def loaded_after(program: str) -> set[str]:
    """Every module a fresh interpreter holds after running `program`."""
    report = "\nimport json as _json, sys as _sys\nprint(_json.dumps(sorted(_sys.modules)))\n"
    finished = subprocess.run(
        [sys.executable, "-c", program + report],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return set(json.loads(finished.stdout.splitlines()[-1]))


REQUESTS = {
    "api.docs": ("/openapi.json", "/openapi.json", {}),
    "web.static": (assets.url("app.css"), "/static/{asset}", {"asset": assets.url("app.css").split("/")[-1]}),
}


def test_every_function_without_the_database_has_a_request_here() -> None:
    assert set(REQUESTS) == WITHOUT_DATABASE


@pytest.mark.parametrize("function", sorted(WITHOUT_DATABASE))
def test_a_function_without_the_database_never_loads_pymongo(function: str) -> None:
    path, route, parameters = REQUESTS[function]
    program = (
        "from plutomi.runtime.aws_events import http_event\n"
        "from plutomi.runtime.functions import LocalContext\n"
        f"import {module_of(function)} as function\n"
        f"event = http_event(method='GET', path={path!r}, route_key={'GET ' + route!r}, "
        f"path_parameters={parameters!r})\n"
        f"answer = function.handler(event, LocalContext({function!r}))\n"
        "assert answer['statusCode'] == 200, answer\n"
    )
    loaded = loaded_after(program)
    assert {"pymongo", "bson", "boto3"} & loaded == set()


def test_the_store_imports_no_repository_module_before_its_repository_is_used() -> None:
    assert "plutomi.adapters.mongo_pipeline" in REPOSITORY_MODULES  # the set is read right
    loaded = loaded_after(UNCONNECTED_STORE + "store.users, store.sessions, store.orgs\n")
    assert "plutomi.adapters.mongo_store" in loaded
    assert loaded & REPOSITORY_MODULES == set()


def test_a_repository_loads_its_own_module_and_no_other() -> None:
    loaded = loaded_after(UNCONNECTED_STORE + "store.applicants\n")
    # Applicants count per stage: the stage counts come with them.
    expected = {"plutomi.adapters.mongo_pipeline", "plutomi.adapters.mongo_stage_counts"}
    assert loaded & REPOSITORY_MODULES == expected


def test_every_lazy_repository_is_built_once() -> None:
    client: MongoClient[Document] = MongoClient("mongodb://127.0.0.1:9", connect=False)
    store = MongoStore(client, "cold")
    lazy = [name for name, value in vars(MongoStore).items() if isinstance(value, cached_property)]
    assert {"applicants", "webhooks", "idempotency", "documents"} <= set(lazy)
    for name in lazy:
        repository = getattr(store, name)
        assert isinstance(repository, Repository), name
        assert getattr(store, name) is repository, name
    client.close()
