"""Decision-email templates: what is refused when saved, and what rendering does with hostile values."""

from __future__ import annotations

import pytest

from plutomi.domain.email_templates import (
    BODY_PLACEHOLDERS,
    DEFAULTS,
    INVALID_TEMPLATE,
    PLACEHOLDERS,
    SUBJECT_PLACEHOLDERS,
    UNKNOWN_PLACEHOLDER,
    Placeholder,
    TemplateKind,
    TemplateValues,
    check_template,
    parse,
    render,
    uses_portal_link,
)
from plutomi.domain.errors import InvalidInput

LINK = "https://app.plutomi.test/public/applicants/apl_1.secret"
VALUES = TemplateValues(
    first_name="Ann", application="Drivers", org="Acme", stage="Final Review", portal_link=LINK
)


def refusal(subject: str, body: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        check_template(subject, body)
    return raised.value


def test_placeholders_are_replaced_with_spaces_inside_the_braces_allowed() -> None:
    rendered = render(
        "{{application}} at {{ org }}",
        "Hi {{first_name}},\nyou are in {{stage}}.\n{{portal_link}}",
        VALUES,
    )
    assert rendered.subject == "Drivers at Acme"
    assert rendered.text == f"Hi Ann,\nyou are in Final Review.\n{LINK}\n"
    assert f'<a href="{LINK}">{LINK}</a>' in rendered.html
    assert "Hi <bdi>Ann</bdi>,<br>" in rendered.html


@pytest.mark.parametrize("name", ["__class__", "email", "last_name", "reason", "note", "First_Name"])
def test_an_unknown_name_is_refused_with_the_known_ones(name: str) -> None:
    error = refusal("Hello", f"Hi {{{{{name}}}}}")
    assert error.code == UNKNOWN_PLACEHOLDER
    assert f"{{{{{name}}}}}" in error.message
    for known in PLACEHOLDERS:
        assert f"{{{{{known}}}}}" in error.message


@pytest.mark.parametrize(
    "body",
    [
        "{{ first_name.upper }}",
        "{{ first_name.__class__.__mro__ }}",
        "{{ org | upper }}",
        "{{ org() }}",
        "{{ org['x'] }}",
        "{{}}",
        "{{{{org}}}}",
        "{{ {{org}} }}",
        "{{{org}}}",
        "{{org}}}}",
        "Hi {{first_name",
        "Hi first_name}}",
        "{% if org %}yes{% endif %}",
        "{%- for x in y -%}{{x}}{% endfor %}",
        "{# a comment #}",
        "{{ first_name\n}}",
    ],
)
def test_anything_but_a_bare_name_is_an_invalid_template(body: str) -> None:
    error = refusal("Hello", body)
    assert error.code == INVALID_TEMPLATE, error.message
    assert "{{" in error.message  # says how a placeholder is written


def test_the_portal_link_is_for_the_body_only() -> None:
    error = refusal("Your link {{portal_link}}", "Hi")
    assert error.code == UNKNOWN_PLACEHOLDER and "body" in error.message
    assert "{{portal_link}}" not in error.message.split("here:")[1]
    check_template("Hi {{first_name}}", "{{portal_link}}")


def test_literal_braces_and_jinja_lookalikes_in_values_are_text() -> None:
    assert parse("a { b } {c} 100%", BODY_PLACEHOLDERS) == ("a { b } {c} 100%",)
    assert parse("{{org}}{{stage}}", SUBJECT_PLACEHOLDERS) == (Placeholder("org"), Placeholder("stage"))


def test_a_value_that_looks_like_a_placeholder_is_not_expanded_again() -> None:
    sneaky = TemplateValues(
        first_name="{{portal_link}}",
        application="{{org}}",
        org="{% for x in range(10**9) %}x{% endfor %}",
        stage="{{ __class__ }}",
        portal_link=LINK,
    )
    rendered = render("{{application}} / {{org}}", "{{first_name}} {{application}} {{stage}} {{org}}", sneaky)
    assert rendered.subject == "{{org}} / {% for x in range(10**9) %}x{% endfor %}"
    assert (
        rendered.text == "{{portal_link}} {{org}} {{ __class__ }} {% for x in range(10**9) %}x{% endfor %}\n"
    )
    assert LINK not in rendered.text and LINK not in rendered.html


def test_html_in_a_value_or_in_the_template_is_escaped() -> None:
    hostile = TemplateValues(
        first_name='<script>alert(1)</script>"',
        application="<img src=x onerror=alert(1)>",
        org="A & B",
        stage="</p><a href='https://evil.example'>click</a>",
        portal_link=LINK,
    )
    rendered = render(
        "{{application}}",
        "<b>Hi</b> {{first_name}} {{stage}} {{org}} https://evil.example {{portal_link}}",
        hostile,
    )
    html = rendered.html
    assert "<script>" not in html and "<img" not in html and "<b>Hi" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert "&lt;/p&gt;&lt;a href=&#x27;https://evil.example&#x27;&gt;" in html
    assert "A &amp; B" in html
    assert html.count("<a ") == 1 and f'<a href="{LINK}">' in html  # only our link is a link
    assert rendered.text.startswith('<b>Hi</b> <script>alert(1)</script>"')  # plain text stays text


def test_values_are_one_safe_line() -> None:
    hostile = TemplateValues(
        first_name="Ann\r\nBcc: victim@example.com\u202e\x00",
        application="Drivers\n\nClick here",
        org="Acme" + " long" * 100,
        stage="",
        portal_link=LINK,
    )
    rendered = render("{{first_name}} {{application}}", "{{first_name}}|{{org}}|{{stage}}|", hostile)
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert rendered.subject == "Ann Bcc: victim@example.com Drivers Click here"
    first_line = rendered.text.splitlines()[0]
    assert first_line.startswith("Ann Bcc: victim@example.com|Acme long")
    assert "\u202e" not in rendered.text + rendered.html and "\x00" not in rendered.text + rendered.html
    org_part = first_line.split("|")[1]
    assert len(org_part) <= 100 and org_part.endswith("\u2026")
    assert first_line.endswith("|(no name)|")  # an unnamed stage shows as such


def test_a_missing_first_name_reads_naturally() -> None:
    values = TemplateValues(first_name="", application="A", org="O", stage="S", portal_link=LINK)
    assert render("x", "Hi {{first_name}},", values).text == "Hi there,\n"


@pytest.mark.parametrize("kind", list(TemplateKind))
def test_the_defaults_parse_and_render(kind: TemplateKind) -> None:
    default = DEFAULTS[kind]
    check_template(default.subject, default.body)
    rendered = render(default.subject, default.body, VALUES)
    assert "{{" not in rendered.subject + rendered.text
    assert "Ann" in rendered.text and "Drivers" in rendered.text and "Acme" in rendered.text


def test_a_link_is_minted_only_for_templates_that_use_it() -> None:
    assert uses_portal_link(DEFAULTS[TemplateKind.STAGE_ENTERED].body)
    assert not uses_portal_link(DEFAULTS[TemplateKind.REJECTED].body)
    assert not uses_portal_link("portal_link {portal_link}")


def test_a_decision_email_is_not_essential() -> None:
    assert render("s", "b", VALUES).to("ann@example.com").essential is False
