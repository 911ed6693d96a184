"""The review-request template and the customer name it is filled with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import InvalidField, MissingField
from neariq_sms.domain.parsing import parse_customer_name, parse_template
from neariq_sms.domain.review import OPT_OUT_FOOTER, render_review_request


def render(template: str | None = None, name: str = "Jane Doe") -> str:
    return render_review_request(
        template=template,
        customer_name=name,
        business_name="Aster Grove Fitness",
        review_link="https://g.page/r/aster",
    )


def test_the_default_body_greets_by_first_name_and_links_the_review() -> None:
    """First name, business name and review link, then the opt-out footer."""
    body = render()
    assert body.startswith("Hi Jane, thanks for choosing Aster Grove Fitness!")
    assert "https://g.page/r/aster" in body
    assert "Doe" not in body
    assert body.endswith(OPT_OUT_FOOTER)
    assert body.endswith("Reply STOP to opt out.")


@pytest.mark.parametrize(
    "template",
    [
        "{first_name}, review {business_name}: {review_link}",
        f"{OPT_OUT_FOOTER} Then review us at {{review_link}}",
        f"Review us {{review_link}} {OPT_OUT_FOOTER}",
    ],
)
def test_the_opt_out_footer_is_always_last_and_never_doubled(template: str) -> None:
    """Whatever the template, the body ends with the footer, and only once at the end."""
    body = render(template)
    assert body.endswith(OPT_OUT_FOOTER)
    assert not body[: -len(OPT_OUT_FOOTER)].rstrip().endswith(OPT_OUT_FOOTER)


def test_braces_in_a_customer_name_are_text_not_placeholders() -> None:
    """The name is a value: ``{business_name}`` in it is sent literally."""
    assert render(name="{business_name}").startswith("Hi {business_name},")


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and s.isprintable()))
def test_printable_names_of_up_to_60_characters_are_accepted(name: str) -> None:
    """A printable name of 1-60 characters is kept, trimmed."""
    assert parse_customer_name(name) == name.strip()


def test_sixty_characters_after_trimming_is_the_limit() -> None:
    """Spaces around the name do not count; the 61st character does."""
    assert parse_customer_name("  " + "a" * 60 + "  ") == "a" * 60
    with pytest.raises(InvalidField):
        parse_customer_name("a" * 61)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_an_absent_or_blank_name_is_a_missing_field(raw: object) -> None:
    """A name that is absent or only white space is ``missing_field``."""
    with pytest.raises(MissingField) as caught:
        parse_customer_name(raw)
    assert caught.value.field == "customerName"


@pytest.mark.parametrize("raw", ["Ja\x00ne", "Ja\nne", "Jane\x1b[31m", "Ja\u200bne", 42])
def test_control_characters_or_non_text_are_an_invalid_field(raw: object) -> None:
    """Control and format characters inside a name are rejected."""
    with pytest.raises(InvalidField):
        parse_customer_name(raw)


def test_templates_may_use_only_the_three_placeholders() -> None:
    """An unknown or malformed placeholder is rejected when the template is set."""
    assert parse_template("{first_name} {business_name} {review_link}")
    with pytest.raises(InvalidField):
        parse_template("Hi {name}")
    with pytest.raises(InvalidField):
        parse_template("Hi {first_name")
