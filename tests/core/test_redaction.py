from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beluga.core import MASK, redact, register_secret


@pytest.mark.parametrize(
    "text",
    [
        "key sk-proj-abcdefghijklmnop1234",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
        "url?api_key=abcdef123456&x=1",
        '{"api_key": "abcdef123456"}',
        "groq gsk_abcdefghijklmnopqrstuv",
        "google AIzaSyA1234567890abcdefghijklmnopqrstu",
        "aws AKIAABCDEFGHIJKLMNOP",
        "xai-abcdefghijklmnopqrstu",
    ],
)
def test_credential_patterns_are_masked(text: str) -> None:
    out = redact(text)
    assert MASK in out
    for token in ("abcdef123456", "abcdefghijklmnop", "AKIAABCDEFGHIJKLMNOP", "1234567890abc"):
        assert token not in out


def test_labels_are_kept_so_readers_know_what_was_hidden() -> None:
    assert redact("api_key=abcdef123456") == f"api_key={MASK}"
    assert redact("Bearer abcdefghijklmnop") == f"Bearer {MASK}"


def test_registered_secret_is_masked_even_without_a_pattern() -> None:
    register_secret("hunter2-correct-horse")
    assert redact("the password is hunter2-correct-horse!") == f"the password is {MASK}!"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abc") == "abc abc"


def test_plain_text_is_untouched() -> None:
    text = "The capital of France is Paris. Tokens: 42."
    assert redact(text) == text


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40))
def test_registered_secret_never_survives(noise: str) -> None:
    secret = "Zq9-secret-value-77"
    register_secret(secret)
    assert secret not in redact(noise + secret + noise)
