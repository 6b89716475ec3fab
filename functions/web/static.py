"""The versioned static files pages load (styles, scripts), cached for good: a new file is a new URL."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.web import assets, pages

router = pages.Router()


@router.get("/static/<asset>", compress=True)
def static_file(asset: str) -> Response[Any]:
    return assets.response(asset)


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
