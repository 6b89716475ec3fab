"""The text fields of request bodies: every string a person types is one of these.

`Text` puts the rules of `plutomi.domain.text.check_text` on a pydantic field, so an API body, a web
form or any later schema refuses the same characters with the same message, as a 422
`validation_failed` whose detail names the field, with `type` the kind of problem
(`text_control_character`, `text_line_break`, ...). `tests/unit/test_text_fields.py` walks every
request body and fails for a `str` field that is neither one of these nor on its short list of
exempt ones (ids, emails, codes, URLs, event types: values with rules of their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from plutomi.domain.text import TextRejected, check_text


@dataclass(frozen=True)
class Text:
    """A field of typed text: at most `max_length` characters after the whitespace around it goes,
    at least `min_length`; one line unless `multiline`."""

    max_length: int
    min_length: int = 0
    multiline: bool = False

    def validate(self, value: str) -> str:
        try:
            text = check_text(value, multiline=self.multiline)
        except TextRejected as rejected:
            raise PydanticCustomError(rejected.kind, rejected.message) from None
        if len(text) < self.min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} character" + ("s" if self.min_length > 1 else ""),
                {"min_length": self.min_length},
            )
        if len(text) > self.max_length:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": self.max_length},
            )
        return text

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.max_length
        if self.min_length:
            json_schema["minLength"] = self.min_length
        return json_schema


# One line: names, titles, options, short descriptions.
PersonName = Annotated[str, Text(max_length=100)]  # may be empty
DisplayName = Annotated[str, Text(max_length=100, min_length=1)]
Title = Annotated[str, Text(max_length=300, min_length=1)]
Option = Annotated[str, Text(max_length=200, min_length=1)]
ShortDescription = Annotated[str, Text(max_length=500)]
# Several lines: descriptions and help text.
LongDescription = Annotated[str, Text(max_length=5000, multiline=True)]
HelpText = Annotated[str, Text(max_length=2000, multiline=True)]
RecruiterNote = Annotated[str, Text(max_length=2000, multiline=True)]  # a decision's note: recruiters only
