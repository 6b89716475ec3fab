"""The web app's shared parts: page paths beside the API's, the vendored front-end files, the script
budget, template escaping and where sign-in may send a person back to."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from plutomi.entrypoints.headers import CACHE_FOREVER
from plutomi.topology import API_ROUTES, PAGE_ROUTES
from plutomi.web import assets, pages, vendor

ROOT = Path(__file__).resolve().parents[2]
# The first path segment of every API route: a page may not start with one of them.
API_PREFIXES = {route.path.split("/")[1] for route in API_ROUTES}
JS_BUDGET_BYTES = 60 * 1024


def test_page_paths_never_collide_with_api_paths() -> None:
    clashing = [route.route_key for route in PAGE_ROUTES if route.path.split("/")[1] in API_PREFIXES]
    assert clashing == []
    assert all(route.is_page for route in PAGE_ROUTES) and not any(r.is_page for r in API_ROUTES)


def test_every_page_route_is_in_the_url_map() -> None:
    url_map = (ROOT / "docs" / "pages.md").read_text()
    missing = [route.route_key for route in PAGE_ROUTES if f"`{route.route_key}`" not in url_map]
    assert missing == [], "add these to docs/pages.md"


def test_vendored_files_are_the_pinned_packages() -> None:
    declared = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    for package, (source, name) in vendor.VENDORED.items():
        assert declared[package][0].isdigit(), f"pin {package} to one version in package.json"
        installed = ROOT / "node_modules" / package
        assert installed.exists(), "run `npm ci` (make test does)"
        version = json.loads((installed / "package.json").read_text())["version"]
        assert version == declared[package], f"node_modules has {package} {version}: run `npm ci`"
        copy = assets.FOLDER / "vendor" / name
        assert copy.read_bytes() == (installed / source).read_bytes(), "run `make vendor`"


def test_scripts_shipped_stay_under_the_budget() -> None:
    scripts = [file for file in assets.files().values() if file.source.endswith(".js")]
    compressed = sum(len(gzip.compress(file.content, 9)) for file in scripts)
    assert 0 < compressed < JS_BUDGET_BYTES, f"{compressed} bytes of script, gzipped"


def test_every_template_compiles() -> None:
    environment = pages.environment()
    for name in environment.list_templates():
        environment.get_template(name)


def test_templates_escape_what_people_typed() -> None:
    hostile = '<script>alert(1)</script>" onmouseover="x'
    html = (
        pages.environment()
        .get_template("error.html")
        .render(
            title=hostile, http_status=400, code="x", message=hostile, fields={hostile: hostile}, back="/app"
        )
    )
    assert "<script>" not in html and '" onmouseover' not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        ("/app/acme?tab=1", "/app/acme?tab=1"),
        (None, "/app"),
        ("", "/app"),
        ("https://evil.example/", "/app"),
        ("//evil.example/", "/app"),
        ("/\\evil.example", "/app"),
        ("javascript:alert(1)", "/app"),
        ("/app\r\nSet-Cookie: x", "/app"),
    ],
)
def test_sign_in_only_sends_people_back_to_our_own_pages(asked: str | None, sent_to: str) -> None:
    assert pages.safe_next(asked) == sent_to


def test_static_urls_change_with_their_content() -> None:
    first = assets.files()["app.css"]
    assert first.url.startswith("/static/app.") and first.url.endswith(".css")
    assert assets.response(first.url_name).headers["Cache-Control"] == CACHE_FOREVER
