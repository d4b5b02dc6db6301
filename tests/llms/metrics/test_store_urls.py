"""Metrics store URLs: a malformed one is one INVALID_CONFIG error that shows the URL the way
every other message shows URLs (``core.redaction.display_url``): no user info, no query."""

from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.metrics import check_store_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://alice:pw-Xy7@db.example.com:99999/metrics?sslmode=verify-full",
            "'[REDACTED]'",  # display_url shows no URL it cannot parse
        ),
        ("postgresql://alice@db.example.com:0/metrics", "'postgresql://db.example.com:0/metrics'"),
        ("mysql://alice:pw-Xy7@db.example.com/metrics?x=1", "'mysql://db.example.com/metrics'"),
    ],
)
def test_a_bad_store_url_is_shown_without_user_info_or_query(url: str, shown: str) -> None:
    with pytest.raises(BelugaError) as caught:
        check_store_url(url)
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    message = caught.value.message
    assert f"invalid metrics store URL {shown}:" in message
    assert "alice" not in message and "pw-Xy7" not in message and "sslmode" not in message
