"""Runs `plutomi ARGS...` in this (fresh) process while recording in which thread each handler module
(`functions.*`) was first imported, as a JSON line in REPORT each time (it may end by a signal):

    python -m tests.support.import_watch REPORT.jsonl gateway --port 8080

Serving code must import its handlers in the main thread before it takes work: first imports from
several threads at once deadlock inside Powertools' packages. A finder at the front of `sys.meta_path`
is asked about a module only when it is not imported yet, so it sees exactly where each first import
happens."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType


class _FirstImports:
    def __init__(self, report: Path) -> None:
        self._report = report
        self._lock = threading.Lock()

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.startswith("functions."):
            thread = threading.current_thread()
            line = {"module": name, "thread": thread.name, "main": thread is threading.main_thread()}
            with self._lock, self._report.open("a") as report:
                report.write(json.dumps(line) + "\n")
        return None  # the usual finders import it


def watch(report: Path) -> None:
    """Records this process's first imports of handler modules from now on."""
    sys.meta_path.insert(0, _FirstImports(report))


def first_imports(report: Path) -> dict[str, bool]:
    """Each handler module the watched process imported, and whether in its main thread."""
    lines = report.read_text().splitlines() if report.exists() else []
    return {line["module"]: line["main"] for line in map(json.loads, lines)}


def main(argv: list[str]) -> int:
    report, *args = argv
    watch(Path(report))
    from plutomi.runtime.cli import main as plutomi

    return plutomi(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
