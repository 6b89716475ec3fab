"""What a browser would refuse on an HTML page under its Content-Security-Policy, without a browser:
inline scripts and styles whose hash the policy does not list, inline event handlers and `style`
attributes, and scripts, styles and images from sources the policy does not allow."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

from plutomi.entrypoints.headers import inline_source


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


class Page(HTMLParser):
    """The page's inline scripts and styles, the files it loads, and inline handlers and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.inline_styles: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.images: list[str] = []
        self.inline_attributes: list[str] = []  # style="..." and on...="..."
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.inline_attributes += [
            f"<{tag} {name}>" for name, _ in attrs if name == "style" or name[:2] == "on"
        ]
        if tag == "script" and values.get("src"):
            self.scripts.append(str(values["src"]))
        elif tag in ("script", "style"):
            self._open, self._text = tag, []
        elif tag == "link" and "stylesheet" in (values.get("rel") or "") and values.get("href"):
            self.stylesheets.append(str(values["href"]))
        elif tag == "img" and values.get("src"):
            self.images.append(str(values["src"]))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            (self.inline_scripts if tag == "script" else self.inline_styles).append("".join(self._text))
            self._open = None


def _allowed(url: str, sources: list[str], page_url: str) -> bool:
    target = urlparse(urljoin(page_url, url))
    if "'self'" in sources and (target.scheme, target.netloc) == urlparse(page_url)[:2]:
        return True
    return f"{target.scheme}:" in sources or any(
        source.rstrip("/") == f"{target.scheme}://{target.netloc}" for source in sources
    )


def refusals(html: str, policy: str, page_url: str) -> list[str]:
    """Everything on the page the policy makes a browser refuse (empty: the page works as served)."""
    rules = directives(policy)
    fallback = rules.get("default-src", [])
    scripts, styles = rules.get("script-src", fallback), rules.get("style-src", fallback)
    images = rules.get("img-src", fallback)
    page = Page()
    page.feed(html)
    refused = [f"inline attribute {found}" for found in page.inline_attributes]
    refused += [
        f"inline script {text[:60]!r}" for text in page.inline_scripts if inline_source(text) not in scripts
    ]
    refused += [
        f"inline style {text[:60]!r}" for text in page.inline_styles if inline_source(text) not in styles
    ]
    refused += [f"script {url}" for url in page.scripts if not _allowed(url, scripts, page_url)]
    refused += [f"stylesheet {url}" for url in page.stylesheets if not _allowed(url, styles, page_url)]
    refused += [f"image {url}" for url in page.images if not _allowed(url, images, page_url)]
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*"):
        refused += [f"{name} allows {unsafe}" for name, sources in rules.items() if unsafe in sources]
    if rules.get("frame-ancestors") != ["'none'"]:
        refused.append("the page may be framed: frame-ancestors is not 'none'")
    return refused
