"""What text people may give Plutomi, and how any text is made safe to show or put in an email header.

Pure: strings in, strings out.

`check_text` holds the rules for everything a person types (names, titles, descriptions, options,
answers). It refuses, wherever they appear:

- control characters: C0 (U+0000-U+001F, except tab and line feed in multi-line text), DEL (U+007F)
  and C1 (U+0080-U+009F, NEL among them), and the line and paragraph separators U+2028/U+2029;
- the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which reorder
  what a reader sees ("Trojan Source");
- other format characters with no place in typed text: the deprecated U+206A-U+206F, the byte order
  mark U+FEFF, the interlinear annotations U+FFF9-U+FFFB, the language tag U+E0001, and tag
  characters (U+E0020-U+E007F) outside an emoji flag sequence such as the flag of Scotland;
- unpaired surrogates (U+D800-U+DFFF), which are not text and cannot be stored or encoded;
- text that is only invisible: whitespace, zero-width characters (U+200B-U+200D, U+2060), the
  directional marks, Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the braille blank, variation
  selectors and other default-ignorable characters, with nothing visible among them.

Single-line text (names, titles, options) refuses line breaks and tabs as well. Multi-line text
(descriptions, help text, long answers) keeps `\\n` and tab; `\\r\\n` and a lone `\\r` become `\\n`.
Spaces, tabs and line breaks around any text are trimmed first: a trailing newline is not an error.
The invisible characters of the last rule, and the directional marks U+200E/U+200F/U+061C, are
allowed inside visible text: joiners build emoji and Indic and Persian words, marks fix the
punctuation of right-to-left text; they cannot reorder text the way overrides and isolates do.

`display_line` and `header_value` are for text that was stored before these rules, or comes from
anywhere else: they never refuse, they replace.
"""

from __future__ import annotations

import re
from typing import Final

# The kinds of problem, as reported in the `type` of a validation error.
LINE_BREAK: Final = "text_line_break"
CONTROL_CHARACTER: Final = "text_control_character"
BIDI_CONTROL: Final = "text_bidi_control"
FORMAT_CHARACTER: Final = "text_format_character"
SURROGATE: Final = "text_surrogate"
INVISIBLE: Final = "text_invisible"
KINDS: Final = frozenset(
    {LINE_BREAK, CONTROL_CHARACTER, BIDI_CONTROL, FORMAT_CHARACTER, SURROGATE, INVISIBLE}
)

_C0_C1 = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # every control character except tab (\x09) and line feed (\x0a)
_SEPARATORS = "\u2028\u2029"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_FORMAT = "\u206a-\u206f\ufeff\ufff9-\ufffb\U000e0001"
_TAGS = "\U000e0020-\U000e007f"
_SURROGATES = "\ud800-\udfff"
# A flag such as Scotland's: black flag, tag letters, cancel tag (Unicode TS #51).
_EMOJI_TAG_SEQUENCE = "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"

_REFUSED_MULTI_LINE = re.compile(f"[{_C0_C1}{_SEPARATORS}{_BIDI}{_FORMAT}{_TAGS}{_SURROGATES}]")
_REFUSED_SINGLE_LINE = re.compile(f"[\t\n{_C0_C1}{_SEPARATORS}{_BIDI}{_FORMAT}{_TAGS}{_SURROGATES}]")
_TAG = re.compile(f"[{_TAGS}]")
_TAG_SEQUENCE = re.compile(_EMOJI_TAG_SEQUENCE)
_INVISIBLE = re.compile(
    "[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u2800"
    "\u3164\ufe00-\ufe0f\uffa0\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0100-\U000e01ef]+"
)

_BIDI_CHARS = re.compile(f"[{_BIDI}]")
_FORMAT_CHARS = re.compile(f"[{_FORMAT}]")
_SURROGATE_CHARS = re.compile(f"[{_SURROGATES}]")
_LINE_CHARS = re.compile(f"[\t\n\r{_SEPARATORS}\x85]")

# For text shown on one line or in a header: what to drop, and what becomes a space.
_DROPPED = re.compile(f"({_EMOJI_TAG_SEQUENCE})|[{_BIDI}{_FORMAT}{_TAGS}]")
_SPACED = re.compile(f"[\t\n\r{_C0_C1}{_SEPARATORS}]")
_SPACES = re.compile(r"\s+")
_BODY_CONTROL = re.compile(f"[{_C0_C1}{_SEPARATORS}]")

ELLIPSIS = "\u2026"
# What is trimmed from around typed text before the rules apply: tab, line breaks and the spaces
# (Unicode Zs). Not `str.strip()`'s whole set, which includes control characters such as U+001F.
_TRIMMED = (
    "\t\n\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)


class TextRejected(ValueError):
    """Text a person typed breaks a rule: `kind` is one of `KINDS`, `message` says what to change."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _rejection(char: str, multiline: bool) -> TextRejected:
    found = f"(found {_code_point(char)})"
    if _SURROGATE_CHARS.fullmatch(char):
        return TextRejected(SURROGATE, f"must be valid Unicode text: it has an unpaired surrogate {found}")
    if _BIDI_CHARS.fullmatch(char):
        return TextRejected(
            BIDI_CONTROL,
            f"must not contain bidirectional embedding, override or isolate characters {found}",
        )
    if _FORMAT_CHARS.fullmatch(char) or _TAG.fullmatch(char):
        return TextRejected(FORMAT_CHARACTER, f"must not contain invisible formatting characters {found}")
    if not multiline and _LINE_CHARS.fullmatch(char):
        return TextRejected(LINE_BREAK, f"must be a single line, without line breaks or tabs {found}")
    if char in _SEPARATORS:
        return TextRejected(
            CONTROL_CHARACTER, f"must use \\n for line breaks, not separator characters {found}"
        )
    return TextRejected(CONTROL_CHARACTER, f"must not contain control characters {found}")


def check_text(value: str, *, multiline: bool = False) -> str:
    """The text as Plutomi keeps it, or `TextRejected` saying why it cannot be kept.

    The spaces, tabs and line breaks around the text are trimmed first, and multi-line text has its
    line breaks made `\\n`. Text that is empty after that is returned empty (whether empty is
    allowed is the field's business); text with only invisible characters is refused."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.strip(_TRIMMED)
    refused = (_REFUSED_MULTI_LINE if multiline else _REFUSED_SINGLE_LINE).search(value)
    if refused is not None and _TAG.fullmatch(refused.group()):
        # Tag characters are allowed only inside an emoji flag sequence: look again without those.
        refused = (_REFUSED_MULTI_LINE if multiline else _REFUSED_SINGLE_LINE).search(
            _TAG_SEQUENCE.sub("", value)
        )
    if refused is not None:
        raise _rejection(refused.group(), multiline)
    if value and _INVISIBLE.fullmatch(value):
        raise TextRejected(INVISIBLE, "must contain visible characters, not only spaces or invisible ones")
    return value


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with the text, for a message per field; None if nothing is."""
    try:
        check_text(value, multiline=multiline)
    except TextRejected as rejected:
        return rejected.message
    return None


def _without_hidden(value: str) -> str:
    value = _SURROGATE_CHARS.sub("\ufffd", value)
    return _DROPPED.sub(lambda match: match.group(1) or "", value)


def _shortened(value: str, max_length: int) -> str:
    if len(value) <= max_length:
        return value
    return value[: max(0, max_length - 1)].rstrip() + ELLIPSIS


def display_line(value: str, max_length: int = 200) -> str:
    """Any text as one line to show a person: never fails. Unpaired surrogates become U+FFFD, control
    characters, line breaks and tabs a space; bidi controls and other hidden formatting characters go;
    runs of whitespace become one space; the result is at most `max_length` characters (cut with an
    ellipsis)."""
    value = _SPACED.sub(" ", _without_hidden(value))
    return _shortened(_SPACES.sub(" ", value).strip(), max_length)


def header_value(value: str, max_length: int = 998) -> str:
    """Any text as the value of an email header: `display_line`, and a literal `=?` is broken up so a
    mail client cannot decode a name that merely looks like an RFC 2047 encoded word."""
    return _shortened(display_line(value, max_length + 1).replace("=?", "= ?"), max_length)


def body_text(value: str) -> str:
    """Any text as the body of an email: line breaks become `\\n`, other control characters a space,
    unpaired surrogates U+FFFD, bidi controls and other hidden formatting characters go."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub(" ", _without_hidden(value))
