"""The static files pages load, served from `/static/<stem>.<hash>.<ext>` and cached for good.

Our own scripts and styles sit in `static/`; front-end packages pinned in package.json are copied
into `static/vendor/` by `plutomi.web.vendor` (the copies are committed, so neither Lambda nor the
image needs npm). A file's URL carries a hash of its content, so a changed file is a new URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.domain.errors import NotFound
from plutomi.entrypoints.headers import cached_forever

FOLDER = Path(__file__).parent / "static"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass(frozen=True)
class StaticFile:
    source: str  # the path under static/, e.g. vendor/htmx.min.js
    url_name: str  # e.g. htmx.min.3f2a9c1b0d4e.js
    content_type: str
    content: bytes

    @property
    def url(self) -> str:
        return f"/static/{self.url_name}"


def _hashed(relative: Path, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"{relative.stem}.{digest}{relative.suffix}"


@cache
def files() -> dict[str, StaticFile]:
    """Every static file by its source path; read once per process."""
    found = {}
    for path in sorted(FOLDER.rglob("*")):
        if not path.is_file() or path.suffix not in CONTENT_TYPES:
            continue
        relative = path.relative_to(FOLDER)
        content = path.read_bytes()
        found[relative.as_posix()] = StaticFile(
            relative.as_posix(), _hashed(relative, content), CONTENT_TYPES[path.suffix], content
        )
    return found


@cache
def _by_url_name() -> dict[str, StaticFile]:
    return {file.url_name: file for file in files().values()}


def url(source: str) -> str:
    """The URL of a static file, by its path under static/ (templates call this as `static(...)`)."""
    return files()[source].url


def response(url_name: str) -> Response[Any]:
    found = _by_url_name().get(url_name)
    if found is None:
        raise NotFound("page_not_found", "No such file")
    return cached_forever(found.content_type, found.content)
