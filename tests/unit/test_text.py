"""Unit tests for plutomi.domain.text: what typed text may contain, and making any text safe to show."""

from __future__ import annotations

import pytest

from plutomi.domain import text
from plutomi.domain.text import TextRejected, body_text, check_text, display_line, header_value, text_problem

SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
FORMAT = [chr(c) for c in (*range(0x206A, 0x2070), 0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB, 0xE0001)]
INVISIBLE_ONLY = [
    "\u200b",
    "\u200c\u200d",
    "\u2060",
    "\u3164",
    "\u115f\u1160",
    "\uffa0",
    "\u2800",
    "\u00ad",
    "\u200e\u200f",
    "\u061c",
    "\ufe0f",
    " \u200b \u3000 \u200b ",
]


def kind_of(value: str, multiline: bool = False) -> str:
    with pytest.raises(TextRejected) as rejected:
        check_text(value, multiline=multiline)
    assert rejected.value.kind in text.KINDS
    assert rejected.value.message
    return rejected.value.kind


# ---------------------------------------------------------------------- what is refused


@pytest.mark.parametrize("char", [c for c in C0 if c not in "\t\n\r"] + ["\x7f", *C1])
def test_control_characters_are_refused_inside_any_text(char: str) -> None:
    assert kind_of(f"Acme{char}Inc", multiline=True) == text.CONTROL_CHARACTER
    assert kind_of(f"Acme{char}Inc") in {text.CONTROL_CHARACTER, text.LINE_BREAK}  # NEL is a line break


@pytest.mark.parametrize("char", ["\n", "\r", "\t", "\x85", "\u2028", "\u2029", "\r\n"])
def test_single_line_text_refuses_line_breaks_and_tabs(char: str) -> None:
    assert kind_of(f"Acme{char}Bcc: victim@example.com") == text.LINE_BREAK


def test_the_header_injection_of_the_issue_is_refused() -> None:
    with pytest.raises(TextRejected) as rejected:
        check_text("Night Owls\r\nBcc: victim@example.com")
    assert rejected.value.kind == text.LINE_BREAK
    assert "U+000D" in rejected.value.message and "single line" in rejected.value.message


@pytest.mark.parametrize("char", BIDI)
@pytest.mark.parametrize("multiline", [False, True])
def test_bidi_embeddings_overrides_and_isolates_are_refused(char: str, multiline: bool) -> None:
    assert kind_of(f"invoice{char}fdp.exe", multiline) == text.BIDI_CONTROL


@pytest.mark.parametrize("char", FORMAT)
def test_hidden_format_characters_are_refused(char: str) -> None:
    assert kind_of(f"Ac{char}me") == text.FORMAT_CHARACTER
    assert kind_of(f"Ac{char}me", multiline=True) == text.FORMAT_CHARACTER


def test_tag_characters_only_in_an_emoji_flag() -> None:
    assert check_text(f"Go {SCOTLAND}!") == f"Go {SCOTLAND}!"
    assert kind_of("hidden\U000e0069\U000e0067\U000e006e") == text.FORMAT_CHARACTER  # "ASCII smuggling"
    assert kind_of(f"{SCOTLAND} and \U000e0041") == text.FORMAT_CHARACTER
    assert kind_of("\U0001f3f4\U000e0067\U000e0062") == text.FORMAT_CHARACTER  # no cancel tag


@pytest.mark.parametrize("char", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_unpaired_surrogates_are_refused(char: str) -> None:
    assert kind_of(f"Acme {char}") == text.SURROGATE
    assert kind_of(char, multiline=True) == text.SURROGATE


@pytest.mark.parametrize("value", INVISIBLE_ONLY)
@pytest.mark.parametrize("multiline", [False, True])
def test_text_of_only_invisible_characters_is_refused(value: str, multiline: bool) -> None:
    assert kind_of(value, multiline) == text.INVISIBLE


def test_multi_line_text_of_only_line_breaks_is_empty_not_refused() -> None:
    assert check_text("\r\n\t \n", multiline=True) == ""
    assert check_text("   ") == ""


def test_the_message_names_the_character() -> None:
    assert text_problem("a\x07b") == "must not contain control characters (found U+0007)"
    assert text_problem("fine") is None
    assert text_problem("a\u202eb") is not None and "U+202E" in (text_problem("a\u202eb") or "")


# ---------------------------------------------------------------------- what is kept


@pytest.mark.parametrize(
    "value",
    [
        "Acme Inc.",
        "Zoë Ñandú-O'Brien",
        "日本の会社",
        "שלום עולם",
        "مرحبا بالعالم",
        "עברית\u200f (Hebrew)",  # a right-to-left mark fixing the punctuation
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with a zero-width non-joiner
        "👩\u200d💻 Team",  # an emoji ZWJ sequence
        "I \u2764\ufe0f Plutomi",  # a variation selector
        "Tom & Jerry <script>alert(1)</script>",  # HTML is escaped where it is shown, not refused
        "e\u0301tude",  # a combining accent
        "x" * 10_000,
        "\U0001d54f\U0001f600",  # astral characters as real pairs
    ],
)
def test_ordinary_text_of_every_script_is_kept(value: str) -> None:
    assert check_text(value) == value
    assert check_text(value, multiline=True) == value


def test_whitespace_around_text_is_trimmed() -> None:
    assert check_text("  Acme Inc \n") == "Acme Inc"
    assert check_text("\t\u3000Acme\u00a0") == "Acme"


def test_multi_line_text_keeps_line_feeds_and_tabs_and_normalises_carriage_returns() -> None:
    assert check_text("\r\nLine 1\r\n\tLine 2\rLine 3\n\n", multiline=True) == "Line 1\n\tLine 2\nLine 3"


def test_a_trailing_unit_separator_is_refused_not_trimmed() -> None:
    # str.strip() would drop U+001F silently; the rules refuse it.
    assert kind_of("Acme\x1f") == text.CONTROL_CHARACTER


# ---------------------------------------------------------------------- making any text safe to show


def test_display_line_puts_anything_on_one_safe_line() -> None:
    hostile = "Night Owls\r\nBcc: victim@example.com\x00\x07\u202e\u2066\ufeff\ud800\u2028end"
    shown = display_line(hostile)
    assert shown == "Night Owls Bcc: victim@example.com \ufffd end"
    assert text_problem(shown) is None or "\ufffd" in shown


def test_display_line_bounds_the_length_with_an_ellipsis() -> None:
    assert display_line("x" * 500, 50) == "x" * 49 + "\u2026"
    assert display_line("short", 50) == "short"
    assert len(display_line("word " * 100, 20)) <= 20


def test_display_line_keeps_what_people_write() -> None:
    for value in ("שלום עולם", "👩\u200d💻 Team", f"Go {SCOTLAND}", "Zoë", "a\u200fb"):
        assert display_line(value) == value


def test_header_value_defuses_a_literal_encoded_word() -> None:
    assert "=?" not in header_value("=?utf-8?b?QmNjOiB4?= Acme")
    assert header_value("Acme\r\nBcc: x@y.z") == "Acme Bcc: x@y.z"
    assert len(header_value("é" * 5000, 200)) == 200


def test_body_text_keeps_lines_and_drops_controls() -> None:
    assert body_text("Hi\r\nthere\x00\x1b[31m\u202eend\ud800") == "Hi\nthere  [31mend\ufffd"
    assert body_text("<p>Tab\tkept</p>\n") == "<p>Tab\tkept</p>\n"
