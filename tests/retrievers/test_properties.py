"""Property tests: reciprocal-rank fusion and the multi-query answer parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from beluga.retrievers import reciprocal_rank_fusion
from beluga.retrievers.multi_query import parse_queries
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

ids = st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10)


def ranking(names: list[str]) -> list[ScoredDocument]:
    return [ScoredDocument(Document(n, id=n), 1.0) for n in names]


@given(st.lists(ids, max_size=5))
def test_fusion_keeps_each_document_once_best_first(rankings: list[list[str]]) -> None:
    fused = reciprocal_rank_fusion([ranking(r) for r in rankings])
    names = [h.document.id for h in fused]
    assert sorted(names) == sorted({n for r in rankings for n in r})
    scores = [h.score for h in fused]
    assert scores == sorted(scores, reverse=True)
    for hit in fused:  # the score is exactly the sum over the rankings it appears in
        expected = sum(
            1 / (60 + r.index(hit.document.id) + 1) for r in rankings if hit.document.id in r
        )
        assert abs(hit.score - expected) < 1e-12


@given(ids, ids)
def test_a_document_first_in_every_ranking_wins(first: list[str], second: list[str]) -> None:
    lead = "z"
    fused = reciprocal_rank_fusion([ranking([lead, *first]), ranking([lead, *second])])
    assert fused[0].document.id == lead


@given(st.text(max_size=300), st.integers(min_value=1, max_value=6))
def test_parse_queries_never_raises_and_respects_the_limit(text: str, limit: int) -> None:
    queries = parse_queries(text, limit=limit)
    assert len(queries) <= limit
    assert all(q.strip() and "\n" not in q for q in queries)
    keys = [" ".join(q.lower().split()) for q in queries]
    assert len(keys) == len(set(keys))
