"""Every string a request body takes is typed text with the text rules, or knowingly something else.

The walk covers every `Body` subclass in the code that handlers can use (all of `plutomi.entrypoints`
and `functions`), so a field added later that forgets the rules fails here, and checks that each
text field really refuses what the rules refuse, under its own name in the error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import functions
import plutomi.entrypoints
from plutomi.domain import text
from plutomi.entrypoints.schemas import Body
from plutomi.entrypoints.text_fields import Text

for _package in (plutomi.entrypoints, functions):
    for _module in pkgutil.walk_packages(_package.__path__, f"{_package.__name__}."):
        importlib.import_module(_module.name)

# Strings that are not typed text: each has rules of its own, named here.
EXEMPT: dict[tuple[str, str], str] = {
    ("RequestCode", "email"): "an address: identity.normalize_email (printable ASCII)",
    ("VerifyCode", "email"): "an address: identity.normalize_email",
    ("CreateInvite", "email"): "an address: identity.normalize_email",
    ("Apply", "email"): "an address: identity.normalize_email",
    ("VerifyCode", "code"): "a login code: compared with the issued ones, never stored",
    ("CreateOrg", "id"): "an org id: identity.validate_org_id",
    ("ConditionIn", "question_id"): "an id, looked up in the stage",
    ("ConditionIn", "value"): "compared with answers: pipeline.validate_rule checks it as an answer",
    ("AnswerRuleIn", "to_stage_id"): "an id, looked up in the application",
    ("IdleRuleIn", "to_stage_id"): "an id, looked up in the application",
    ("MoveApplicant", "from_stage_id"): "an id, compared with the applicant's stage",
    ("MoveApplicant", "to_stage_id"): "an id, looked up in the application",
    ("Answers", "answers"): "question ids to answers: questions.coerce_answer applies the text rules",
    ("RejectApplicant", "reason_id"): "an id, looked up among the org's rejection reasons",
    ("CreateWebhook", "url"): "a URL: webhooks.validate_webhook_url",
    ("UpdateWebhook", "url"): "a URL: webhooks.validate_webhook_url",
    ("CreateWebhook", "event_types"): "event types: webhooks.validate_event_types",
    ("UpdateWebhook", "event_types"): "event types: webhooks.validate_event_types",
    ("QuestionFields", "accepts"): "content types: questions.validate_question takes the allow-list only",
    ("CreateQuestion", "accepts"): "content types: questions.validate_question takes the allow-list only",
    ("UpdateQuestion", "accepts"): "content types: questions.validate_question takes the allow-list only",
    ("PreviewTemplate", "applicant_id"): "an id, looked up among the org's applicants",
    ("RequestUpload", "question_id"): "an id, looked up in the stage",
    ("RequestUpload", "content_type"): "a content type: file_types.file_type takes the allow-list only",
    ("RequestUpload", "file_name"): "a file's name: documents.safe_file_name makes it one safe line",
}
# Text that may have several lines; every other text field is one line.
MULTI_LINE = {
    ("CreateApplication", "description"),
    ("UpdateApplication", "description"),
    ("QuestionFields", "help_text"),
    ("CreateQuestion", "help_text"),
    ("UpdateQuestion", "help_text"),
    ("PutTemplate", "body"),
    ("PreviewTemplate", "body"),
    ("RejectApplicant", "note"),
    ("AcceptApplicant", "note"),
}


def body_models() -> list[type[Body]]:
    found: list[type[Body]] = []
    pending = list(Body.__subclasses__())
    while pending:
        model = pending.pop()
        if model not in found:
            found.append(model)
            pending.extend(model.__subclasses__())
    return sorted(found, key=lambda m: m.__name__)


def strings_in(annotation: Any, metadata: list[Any], where: str) -> Iterator[tuple[str, Text | None]]:
    """Every place in a field's type that can hold a string: (where, its Text marker or None)."""
    if annotation is str:
        yield where, next((m for m in metadata if isinstance(m, Text)), None)
        return
    if annotation is Any or annotation is object:
        yield where, None  # anything, strings included
        return
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        yield from strings_in(base, [*metadata, *extra], where)
        return
    if origin is Literal or annotation in (int, float, bool, type(None)):
        return
    if inspect.isclass(annotation) and issubclass(annotation, Enum):
        return
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        assert issubclass(annotation, Body), f"{where}: nested model {annotation.__name__} is not a Body"
        return  # walked as a Body of its own
    if origin in (Union, types.UnionType):
        for option in get_args(annotation):
            yield from strings_in(option, metadata, where)
        return
    if origin in (list, tuple, set, frozenset):
        for item in get_args(annotation):
            if item is not Ellipsis:
                yield from strings_in(item, [], f"{where}[]")
        return
    if origin is dict:
        key, value = get_args(annotation)
        yield from strings_in(key, [], f"{where}{{key}}")
        yield from strings_in(value, [], f"{where}{{value}}")
        return
    pytest.fail(f"{where}: the walk does not know the type {annotation!r}; teach it")


def text_fields() -> list[tuple[type[Body], str, str, Text]]:
    """(model, field, where, marker) for every text field of every body."""
    found = []
    for model in body_models():
        for name, field in model.model_fields.items():
            if (model.__name__, name) in EXEMPT:
                continue
            for where, marker in strings_in(field.annotation, list(field.metadata), name):
                if marker is not None:
                    found.append((model, name, where, marker))
    return found


def test_the_walk_finds_the_bodies_of_every_api() -> None:
    names = {model.__name__ for model in body_models()}
    assert {"UpdateMe", "CreateOrg", "CreateApplication", "CreateQuestion", "Apply", "CreateWebhook"} <= names


def test_every_string_in_a_request_body_is_text_with_the_rules_or_exempt() -> None:
    unsafe = []
    for model in body_models():
        for name, field in model.model_fields.items():
            if (model.__name__, name) in EXEMPT:
                continue
            for where, marker in strings_in(field.annotation, list(field.metadata), name):
                if marker is None:
                    unsafe.append(f"{model.__module__}.{model.__name__}.{where}")
    assert not unsafe, (
        "These request fields take strings without the text rules: type them with a "
        "plutomi.entrypoints.text_fields type (PersonName, DisplayName, Title, ...), or, if they are "
        f"not text a person types (an id, an address, a code), add them to EXEMPT with why: {unsafe}"
    )


def test_the_exemptions_name_real_fields() -> None:
    fields = {(model.__name__, name) for model in body_models() for name in model.model_fields}
    assert set(EXEMPT) <= fields, set(EXEMPT) - fields


def test_the_expected_fields_are_text() -> None:
    found = {(model.__name__, name) for model, name, _, _ in text_fields()}
    assert {
        ("UpdateMe", "first_name"),
        ("UpdateMe", "last_name"),
        ("CreateOrg", "display_name"),
        ("UpdateOrg", "display_name"),
        ("CreateApplication", "name"),
        ("CreateApplication", "description"),
        ("UpdateApplication", "name"),
        ("UpdateApplication", "description"),
        ("CreateStage", "name"),
        ("UpdateStage", "name"),
        ("CreateQuestion", "title"),
        ("CreateQuestion", "help_text"),
        ("CreateQuestion", "options"),
        ("UpdateQuestion", "title"),
        ("UpdateQuestion", "help_text"),
        ("UpdateQuestion", "options"),
        ("Apply", "first_name"),
        ("Apply", "last_name"),
        ("CreateWebhook", "description"),
        ("UpdateWebhook", "description"),
    } <= found


def test_only_descriptions_and_help_text_have_several_lines() -> None:
    for model, name, where, marker in text_fields():
        assert marker.multiline == ((model.__name__, name) in MULTI_LINE), f"{model.__name__}.{where}"


def hostile_body(where: str, value: str) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    """A body putting `value` at `where`, and the error location that names it."""
    if where.endswith("[]"):
        name = where[:-2]
        return {name: ["fine", value]}, (name, 1)
    return {where: value}, (where,)


HOSTILE = [
    ("Night Owls\r\nBcc: victim@example.com", {text.LINE_BREAK}),
    ("Acme\x00Inc", {text.CONTROL_CHARACTER}),
    ("Acme\x1b[2JInc", {text.CONTROL_CHARACTER}),
    ("Acme\x7f", {text.CONTROL_CHARACTER}),
    ("Acme\x9bInc", {text.CONTROL_CHARACTER}),
    ("invoice\u202efdp.exe", {text.BIDI_CONTROL}),
    ("Acme\u2067Inc\u2069", {text.BIDI_CONTROL}),
    ("\ufeffAcme", {text.FORMAT_CHARACTER}),
    ("Acme \ud800", {text.SURROGATE}),
    ("\u200b\u200d\u2060", {text.INVISIBLE}),
    ("\u3164", {text.INVISIBLE}),
    ("Line\u2028Break", {text.LINE_BREAK, text.CONTROL_CHARACTER}),
]


@pytest.mark.parametrize(("value", "kinds"), HOSTILE, ids=[repr(v)[1:-1][:24] for v, _ in HOSTILE])
def test_every_text_field_refuses_hostile_text_under_its_own_name(value: str, kinds: set[str]) -> None:
    checked = 0
    for model, _, where, marker in text_fields():
        if kinds == {text.LINE_BREAK} and marker.multiline:
            continue  # a line break is what multi-line text may have
        payload, location = hostile_body(where, value)
        with pytest.raises(ValidationError) as raised:
            model.model_validate(payload)
        mine = [error for error in raised.value.errors() if error["loc"] == location]
        assert mine, f"{model.__name__}.{where} accepted {value!r}: {raised.value.errors()}"
        assert mine[0]["type"] in kinds, f"{model.__name__}.{where}: {mine[0]}"
        checked += 1
    assert checked >= 15


def test_single_line_fields_refuse_a_tab_and_multi_line_ones_keep_it() -> None:
    for model, _, where, marker in text_fields():
        adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, marker])
        if marker.multiline:
            assert adapter.validate_python(" a\r\n\tb\r") == "a\n\tb", f"{model.__name__}.{where}"
        else:
            with pytest.raises(ValidationError) as raised:
                adapter.validate_python("a\tb")
            assert raised.value.errors()[0]["type"] == text.LINE_BREAK, f"{model.__name__}.{where}"


def test_text_fields_keep_unicode_and_trim_spaces() -> None:
    for model, _, where, marker in text_fields():
        adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, marker])
        value = "  Zoë שלום 👩\u200d💻 "[: marker.max_length + 2]
        assert adapter.validate_python(value) == "Zoë שלום 👩\u200d💻", f"{model.__name__}.{where}"


def test_lengths_count_after_trimming_and_show_in_the_schema() -> None:
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, Text(max_length=5, min_length=1)])
    assert adapter.validate_python("  abcde  ") == "abcde"
    for value, kind in (("abcdef", "string_too_long"), ("   ", "string_too_short")):
        with pytest.raises(ValidationError) as raised:
            adapter.validate_python(value)
        assert raised.value.errors()[0]["type"] == kind
    assert adapter.json_schema() == {"type": "string", "maxLength": 5, "minLength": 1}


def test_a_number_is_not_text() -> None:
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, Text(max_length=5)])
    with pytest.raises(ValidationError) as raised:
        adapter.validate_python(12)
    assert raised.value.errors()[0]["type"] == "string_type"


def test_handlers_take_request_bodies_only_as_body_models() -> None:
    """A route handler (API or page) whose body is a plain BaseModel would escape the walk above."""
    import sys

    for name, module in list(sys.modules.items()):
        if not name.startswith(("functions.api.", "functions.web.")) or module is None:
            continue
        router = getattr(module, "router", None)
        handlers = list(router._routes.values()) if router is not None else []
        for function in handlers:
            hints = typing.get_type_hints(function, include_extras=False)
            hints.pop("return", None)
            for parameter, annotation in hints.items():
                if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
                    assert issubclass(annotation, Body), f"{name}.{function.__name__}({parameter})"
