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


def test_url_userinfo_is_masked_in_any_text() -> None:
    out = redact("POST http://alice:pa55word-xyz@proxy.local/v1 failed")
    assert "pa55word-xyz" not in out and "proxy.local" in out


def test_display_url_drops_userinfo_and_query() -> None:
    from beluga.core.redaction import display_url

    url = "https://bob:s3cr3t-pass@api.example.com:8443/v1?key=abcdef123456#frag"
    assert display_url(url) == "https://api.example.com:8443/v1"
    assert display_url("http://[::1]:99999/") == MASK


def test_register_url_masks_password_and_query_values_everywhere() -> None:
    from beluga.core.redaction import register_url

    register_url("postgresql://u:pgpass-777@db/x?sslpassword=qwerty-999")
    assert "pgpass-777" not in redact("auth failed for pgpass-777")
    assert "qwerty-999" not in redact("value qwerty-999")


def test_the_registered_set_is_bounded_oldest_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import OrderedDict

    from beluga.core import redaction

    monkeypatch.setattr(redaction, "_registered", OrderedDict())
    monkeypatch.setattr(redaction, "_secrets", ())
    monkeypatch.setattr(redaction, "_MAX_SECRETS", 3)
    for value in ("first-secret-1", "second-secret-2", "third-secret-3"):
        register_secret(value)
    register_secret("first-secret-1")  # used again: now the most recent
    register_secret("fourth-secret-4")
    assert len(redaction._registered) == 3
    assert redact("second-secret-2") == "second-secret-2"  # the least recent was forgotten
    for kept in ("first-secret-1", "third-secret-3", "fourth-secret-4"):
        assert redact(kept) == MASK


def test_a_secret_containing_another_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import OrderedDict

    from beluga.core import redaction

    monkeypatch.setattr(redaction, "_registered", OrderedDict())
    monkeypatch.setattr(redaction, "_secrets", ())
    register_secret("abcdef")
    register_secret("abcdefghijkl")
    assert redact("x abcdefghijkl y") == f"x {MASK} y"


@pytest.mark.parametrize(
    "query",
    [
        "api-version=2031-07-19-preview",  # Azure: a date, not a credential
        "deployment=gpt-4o-mini-eu7",
        "sslmode=require-verify7",
        "region=westeurope-7",
        "country_code=lowered-77",
        "request_id=3f2a9c1e-77b0-4e1d-9a51-0c6de3b2f4a8",  # a UUID is lower-case hex
    ],
)
def test_register_url_leaves_query_values_that_are_no_credential(query: str) -> None:
    from beluga.core.redaction import register_url

    register_url(f"https://res.example.com/openai?{query}")
    value = query.partition("=")[2]
    assert redact(f"sent {value} to the server") == f"sent {value} to the server"


@pytest.mark.parametrize(
    "query",
    [
        "key=plainvalue-7781",  # Gemini
        "api-key=plainvalue-7782",
        "access_token=plainvalue-7783",
        "sig=plainvalue-7784",  # Azure SAS
        "X-Amz-Signature=plainvalue-7785",
        "X-Amz-Security-Token=plainvalue-7786",
        "client_secret=plainvalue-7787",
        "sslpassword=plainvalue-7788",
        "code=plainvalue-7789",  # an OAuth code
        "x=Q2hEw9Lk3Mz8Rt5Yb1Np",  # any name: it looks like a generated key
    ],
)
def test_register_url_masks_query_values_that_are_credentials(query: str) -> None:
    from beluga.core.redaction import register_url

    register_url(f"https://res.example.com/v1?mode=a&{query}")
    value = query.partition("=")[2]
    assert value not in redact(f"sent {value} to the server")
