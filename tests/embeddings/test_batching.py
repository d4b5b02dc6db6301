"""Splitting inputs into API-sized batches (a property test over sizes and budgets)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from beluga.embeddings._batching import estimate_tokens, split
from beluga.schema import ImagePart, TextPart


@given(
    st.lists(st.text(max_size=60), max_size=60),
    st.integers(min_value=1, max_value=10),
    st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)
def test_split_keeps_order_and_limits(texts: list[str], most: int, budget: int | None) -> None:
    batches = split(texts, most, budget)
    assert [t for b in batches for t in b] == texts
    for batch in batches:
        assert 1 <= len(batch) <= most
        if budget is not None and len(batch) > 1:
            assert sum(estimate_tokens(t) for t in batch) <= budget


def test_estimates_are_conservative_and_count_media() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("a" * 30) == 10
    image = ImagePart(url="https://example.com/a.png")
    assert estimate_tokens([TextPart(text="abc"), image]) == 1 + 256
