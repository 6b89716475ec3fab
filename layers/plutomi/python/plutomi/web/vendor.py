"""Copies the front-end packages pinned in package.json from node_modules/ into static/vendor/:
`python -m plutomi.web.vendor` after `npm ci` (or `make vendor`). tests/unit/test_pages.py checks the
copies match the pinned packages, so a version bump without a fresh copy fails."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from plutomi.web.assets import FOLDER

# The file of each package a page loads: package name -> (its file, the copy's name).
VENDORED: dict[str, tuple[str, str]] = {
    "htmx.org": ("dist/htmx.min.js", "htmx.min.js"),
}


def main(node_modules: Path = Path("node_modules")) -> None:
    target = FOLDER / "vendor"
    target.mkdir(parents=True, exist_ok=True)
    for package, (source, name) in VENDORED.items():
        origin = node_modules / package / source
        if not origin.is_file():
            sys.exit(f"{origin} is missing: run `npm ci` first")
        shutil.copyfile(origin, target / name)
        print(f"copied {package}/{source} -> {(target / name).as_posix()}")


if __name__ == "__main__":
    main()
