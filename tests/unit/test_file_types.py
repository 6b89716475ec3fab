"""Unit tests for plutomi.domain.file_types: recognising uploads by their first bytes, reading
declared content types, and the words and sizes shown to people."""

from __future__ import annotations

import pytest

from plutomi.domain.file_types import (
    DEFAULT_ACCEPTED,
    FILE_TYPES,
    MEGABYTE,
    SNIFF_BYTES,
    file_type,
    labels,
    megabytes,
    sniffed_type,
)


def _ftyp(major: bytes, *compatible: bytes, box_size: int | None = None) -> bytes:
    """An ISO-BMFF `ftyp` box (size, "ftyp", major brand, minor version, compatible brands) and a
    little of what follows it."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    size = box_size if box_size is not None else 4 + len(body)
    return size.to_bytes(4, "big") + body + b"\x00\x00\x00\x2cmeta"


# The first bytes of a real file of each allowed type.
SAMPLES: dict[str, list[bytes]] = {
    "application/pdf": [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"%PDF-2.0\r\n"],
    "image/jpeg": [b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00"],
    "image/png": [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"],
    "image/webp": [b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"],
    "image/heic": [
        _ftyp(b"heic", b"mif1", b"heic"),  # an iPhone photo: HEIC as the major brand
        _ftyp(b"heix", b"mif1", b"heix"),
        _ftyp(b"mif1", b"mif1", b"heic", b"miaf"),  # the generic HEIF brand, HEIC among the compatible
        _ftyp(b"msf1", b"msf1", b"hevc"),  # an image sequence
    ],
}


def test_every_allowed_type_has_samples() -> None:
    assert SAMPLES.keys() == FILE_TYPES.keys()


@pytest.mark.parametrize(
    ("content_type", "head"), [(t, head) for t, heads in SAMPLES.items() for head in heads]
)
def test_each_allowed_type_is_recognised_by_its_first_bytes(content_type: str, head: bytes) -> None:
    found = sniffed_type(head)
    assert found is not None and found.content_type == content_type
    # Only that type: a file is never two of them.
    assert [t.content_type for t in FILE_TYPES.values() if t.matches(head)] == [content_type]
    # What the checks read of an object is enough.
    assert sniffed_type(head[:SNIFF_BYTES]) is found


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", id="zip (and docx, xlsx)"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", id="windows executable"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00", id="linux executable"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
        pytest.param(b"<html><body>%PDF-1.7", id="html with a pdf header inside"),
        pytest.param(b" %PDF-1.7", id="pdf header not first"),
        pytest.param(b"\xff\xd8", id="jpeg marker cut short"),
        pytest.param(b"\x89PNG\r\n\x1a", id="png signature cut short"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="riff wave audio"),
        pytest.param(b"RIFF\x24\x00", id="riff cut short"),
        pytest.param(_ftyp(b"avif", b"mif1", b"avif", b"miaf"), id="avif"),
        pytest.param(_ftyp(b"mif1", b"mif1", b"avif", b"miaf"), id="avif under mif1, no heic brand"),
        pytest.param(_ftyp(b"mif1", b"mif1"), id="mif1 alone"),
        pytest.param(_ftyp(b"isom", b"isom", b"heic"), id="mp4 naming heic"),
        pytest.param(_ftyp(b"mif1", b"mif1", b"heic", box_size=20), id="heic brand outside the ftyp box"),
        pytest.param(b"\x00\x00\x00\x18ftyp", id="ftyp box cut short"),
    ],
)
def test_other_first_bytes_are_no_allowed_type(head: bytes) -> None:
    assert sniffed_type(head) is None


def test_a_png_declared_as_a_pdf_is_not_a_pdf() -> None:
    png = SAMPLES["image/png"][0]
    declared = file_type("application/pdf")
    assert declared is not None and not declared.matches(png)
    assert sniffed_type(png) is FILE_TYPES["image/png"]


@pytest.mark.parametrize(
    ("declared", "content_type"),
    [
        ("application/pdf", "application/pdf"),
        ("Application/PDF", "application/pdf"),
        ("application/pdf; charset=binary", "application/pdf"),
        ("  image/PNG ;name=licence.png", "image/png"),
        ("IMAGE/HEIC", "image/heic"),
    ],
)
def test_file_type_ignores_parameters_and_case(declared: str, content_type: str) -> None:
    found = file_type(declared)
    assert found is not None and found.content_type == content_type


@pytest.mark.parametrize("declared", ["", "image/gif", "application/zip", "pdf", "application/pdf2"])
def test_file_type_of_anything_else_is_none(declared: str) -> None:
    assert file_type(declared) is None


def test_labels_read_as_a_person_would_say_them() -> None:
    assert labels(("application/pdf",)) == "PDF"
    assert labels(["application/pdf", "image/png"]) == "PDF or PNG image"
    assert labels(DEFAULT_ACCEPTED) == "PDF, JPEG image or PNG image"
    assert labels(["image/gif"]) == "image/gif"  # not an allowed type: shown as it was given


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (10 * MEGABYTE, "10 MB"),
        (25 * MEGABYTE, "25 MB"),
        (MEGABYTE * 3 // 2, "1.5 MB"),
        (MEGABYTE // 2, "0.5 MB"),
    ],
)
def test_megabytes(size: int, shown: str) -> None:
    assert megabytes(size) == shown


def test_only_what_browsers_show_opens_inline() -> None:
    assert {t.content_type for t in FILE_TYPES.values() if not t.inline} == {"image/heic"}
