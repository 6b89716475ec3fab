"""The files applicants may upload: the allow-list of content types, how each is recognised by its
first bytes, and the size limits. Pure.

A declared content type is what the browser says; the first bytes are what the file is. A document
counts only when the two agree, so a renamed executable is not a "PDF". Each type is recognised by
its container's signature (PDF header, JPEG SOI marker, PNG signature, RIFF/WEBP, an ISO-BMFF
`ftyp` box with a HEIF brand); SNIFF_BYTES is enough for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MEGABYTE = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 10 * MEGABYTE
MAX_FILE_BYTES = 25 * MEGABYTE
MAX_FILES_PER_QUESTION = 10  # a `multiple` question's files, at most
SNIFF_BYTES = 64  # how much of an object's start the checks read


def _pdf(head: bytes) -> bool:
    # "%PDF-" normally opens the file; readers accept it within the first KiB, but uploads from
    # scanners and browsers put it first, and accepting junk before it would let anything through.
    return head.startswith(b"%PDF-")


def _jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _webp(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"


HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})


def _heic(head: bytes) -> bool:
    """An ISO-BMFF file whose `ftyp` box names an HEVC-coded HEIF brand: as its major brand, or (for
    the generic `mif1`/`msf1` major brands, which AVIF uses too) among its compatible brands."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    if major in HEIC_BRANDS:
        return True
    if major not in HEIF_GENERIC_BRANDS:
        return False
    compatible = head[16 : min(box_size, len(head))]
    brands = {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
    return bool(brands & HEIC_BRANDS)


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str  # what a person calls it, in messages
    extensions: tuple[str, ...]
    matches: Callable[[bytes], bool]  # do these first bytes start such a file?
    inline: bool  # browsers show it themselves (opened inline, not downloaded)


FILE_TYPES: dict[str, FileType] = {
    file_type.content_type: file_type
    for file_type in (
        FileType("application/pdf", "PDF", (".pdf",), _pdf, inline=True),
        FileType("image/jpeg", "JPEG image", (".jpg", ".jpeg"), _jpeg, inline=True),
        FileType("image/png", "PNG image", (".png",), _png, inline=True),
        FileType("image/webp", "WebP image", (".webp",), _webp, inline=True),
        # Browsers other than Safari cannot show HEIC: it downloads instead of opening inline.
        FileType("image/heic", "HEIC image", (".heic", ".heif"), _heic, inline=False),
    )
}
# What a file question accepts when its designer names nothing.
DEFAULT_ACCEPTED = ("application/pdf", "image/jpeg", "image/png")


def file_type(content_type: str) -> FileType | None:
    """The allowed type a declared content type names (parameters and case ignored), or None."""
    return FILE_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def sniffed_type(head: bytes) -> FileType | None:
    """The allowed type these first bytes start, or None when they start none of them."""
    return next((t for t in FILE_TYPES.values() if t.matches(head)), None)


def labels(content_types: tuple[str, ...] | list[str]) -> str:
    """ "PDF, JPEG image or PNG image": the accepted types as a person reads them."""
    names = [FILE_TYPES[t].label if t in FILE_TYPES else t for t in content_types]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def megabytes(size: int) -> str:
    shown = size / MEGABYTE
    return f"{shown:.0f} MB" if shown == int(shown) else f"{shown:.1f} MB"
