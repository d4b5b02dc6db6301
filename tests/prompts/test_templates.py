from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beluga.core.errors import BelugaError, ErrorCode
from beluga.prompts import (
    ChatTemplate,
    FewShot,
    FileSlot,
    ImageSlot,
    Placeholder,
    PromptTemplate,
    RenderLimits,
)
from beluga.schema import FilePart, ImagePart, Message, TextPart

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def test_render_defaults_and_partials() -> None:
    t = PromptTemplate("Hi {{ name }}, {{ tone }}.", defaults={"tone": "calm"}, name="greet")
    assert t.input_variables == ("name", "tone")
    assert t.required_variables == ("name",)
    assert t.render(name="Ann") == "Hi Ann, calm."
    p = t.partial(name="Bo")
    assert p.render() == "Hi Bo, calm." and t.required_variables == ("name",)
    assert p.render(name="Cy", tone="loud") == "Hi Cy, loud."


def test_missing_variable_names_it_and_the_template() -> None:
    t = PromptTemplate("{{ customer }} {{ product }}", name="support")
    with pytest.raises(BelugaError) as info:
        t.render(custmer="x")
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "'customer'" in info.value.message and "prompt 'support'" in info.value.message
    assert "custmer" in info.value.message and "product" in info.value.message


def test_partial_of_unknown_variable_is_refused() -> None:
    with pytest.raises(BelugaError, match="does not use"):
        PromptTemplate("{{ a }}").partial(b=1)


def test_string_few_shot_section() -> None:
    t = PromptTemplate(
        "Classify.\n{{ examples }}\nInput: {{ text }}",
        examples=[{"input": "great", "output": "pos"}, {"input": "bad", "output": "neg"}],
    )
    assert t.render(text="ok") == (
        "Classify.\nInput: great\nOutput: pos\n\nInput: bad\nOutput: neg\nInput: ok"
    )
    assert t.input_variables == ("text",)
    with pytest.raises(BelugaError, match="examples"):
        PromptTemplate("{{ text }}", examples=[{"input": 1, "output": 2}])


def test_chat_few_shot_placeholder_and_media() -> None:
    t = ChatTemplate(
        [
            ("system", "You are {{ persona }}."),
            FewShot([{"q": "2+2", "a": "4"}], input="{{ q }}", output="{{ a }}"),
            Placeholder("history", optional=True),
            ("user", ["Look: {{ q }}", ImageSlot("photo"), FileSlot("doc")]),
        ],
        defaults={"persona": "kind"},
    )
    assert t.required_variables == ("doc", "photo", "q")
    out = t.render(
        q="what",
        photo=PNG,
        doc="https://x/a.pdf",
        history=[Message.user("hi"), {"role": "assistant", "content": "yo"}],
    )
    assert [m.role for m in out] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert out[1].text == "2+2" and out[2].text == "4" and out[4].text == "yo"
    last = out[-1].content
    assert last[0] == TextPart("Look: what")
    assert isinstance(last[1], ImagePart) and last[1].data == PNG
    assert last[1].media_type == "image/png"
    assert isinstance(last[2], FilePart) and last[2].url == "https://x/a.pdf"
    assert len(t.render(q="x", photo="https://p/i.png", doc=b"%PDF-1.4")) == 4  # no history


def test_media_slot_refuses_plain_text() -> None:
    t = ChatTemplate([("user", [ImageSlot("photo")])])
    with pytest.raises(BelugaError, match="photo"):
        t.render(photo="not a url")


def test_required_placeholder_missing_is_an_error() -> None:
    with pytest.raises(BelugaError, match="history"):
        ChatTemplate([Placeholder("history")]).render()


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__['os'] }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ items.append(1) }}",
        "{{ namespace.__init__ }}",
    ],
)
def test_sandbox_escapes_are_refused(source: str) -> None:
    with pytest.raises(BelugaError) as info:
        PromptTemplate(source).render(items=[])
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "sandbox refused" in info.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 10000000 }}",
        "{{ 2 ** 100000000 }}",
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{{ 'a'.ljust(10000000000) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ 'a'|center(10**9) }}",
        "{{ ('a' * 100000)|replace('a', 'aaaaaaaaaaaaaaaaaaaa') }}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{% for i in range(99999) %}{{ 'y' * 99 }}{% endfor %}",
    ],
)
def test_huge_renders_are_cut(source: str) -> None:
    with pytest.raises(BelugaError) as info:
        PromptTemplate(source).render()
    assert info.value.code is ErrorCode.CAPACITY_EXCEEDED
    assert "RenderLimits" in info.value.message


def test_limits_are_configurable() -> None:
    limits = RenderLimits(max_steps=20)
    t = PromptTemplate("{% for i in range(n) %}.{% endfor %}", limits=limits)
    assert t.render(n=5) == "." * 5
    with pytest.raises(BelugaError, match="20 steps"):
        t.render(n=50)


def test_autoescape_is_off() -> None:
    assert PromptTemplate("{{ x }}").render(x="<b>&</b>") == "<b>&</b>"


@given(st.text())
def test_values_are_inserted_literally(value: str) -> None:
    t = PromptTemplate("[{{ a }}]")
    assert t.render(a=value) == f"[{value}]"
    chat = ChatTemplate([("user", "{{ a }}")])
    assert chat.render(a=value)[0].text == value


@given(st.sampled_from(["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "{{ a }}"]))
def test_template_syntax_in_values_is_not_evaluated(value: str) -> None:
    assert PromptTemplate("{{ a }}").render(a=value) == value


def test_syntax_error_names_line() -> None:
    with pytest.raises(BelugaError, match="line 2"):
        PromptTemplate("ok\n{{ x ", name="bad")
