"""The contract every vector store passes: the same tests, parametrized over conftest.FACTORIES.

What a store must do is in beluga.vectorstores.base's docstring; the filter semantics are
beluga.vectorstores.filters.matches, the reference every store's filter translation is held to
(the property tests at the end draw random documents and random filters).
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document, ImagePart, TextPart
from beluga.vectorstores import VectorStore, matches, parse
from tests.vectorstores.conftest import StoreMaker

DIM = 8


def vec(seed: int, dim: int = DIM) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(dim)]


def axis(i: int, dim: int = DIM) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(dim)]


CORPUS_META: list[dict[str, Any]] = [
    {"tag": "a", "year": 2019, "lang": "en", "score": 0.5, "draft": False},
    {"tag": "b", "year": 2020, "lang": "fr", "score": 1.5, "draft": True},
    {"tag": "a", "year": 2021, "lang": "en", "draft": False},
    {"tag": "c", "year": 2022, "lang": "de", "score": -2.0},
    {"tag": "b", "year": 2023, "score": 3.25, "draft": True, "note": None},
    {"tag": "a", "year": "2024", "lang": "en", "list": [1, 2]},
    {"year": 2020.0, "lang": "fr", "n": 1},
    {"tag": "1", "n": True, "draft": False},
]


def corpus() -> tuple[list[Document], list[list[float]]]:
    docs = [Document(f"text {i}", id=f"d{i}", metadata=meta) for i, meta in enumerate(CORPUS_META)]
    return docs, [vec(i) for i in range(len(docs))]


async def filled(open_store: StoreMaker, **options: Any) -> VectorStore:
    store = await open_store(**options)
    docs, vectors = corpus()
    await store.upsert(docs, vectors)
    return store


async def ids_matching(store: VectorStore, filter: Any) -> set[str]:
    hits = await store.search(vec(99), k=len(CORPUS_META) + 5, filter=filter)
    return {hit.document.id for hit in hits}


def invalid(excinfo: pytest.ExceptionInfo[BelugaError]) -> str:
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST
    return excinfo.value.message


# --- empty store, get, count -----------------------------------------------------------------


async def test_an_empty_store_finds_nothing(open_store: StoreMaker) -> None:
    store = await open_store()
    assert await store.count() == 0
    assert await store.search(vec(1), k=3) == []
    assert await store.search(vec(1), k=3, filter={"tag": "a"}) == []
    assert await store.get(["nope"]) == []
    await store.delete(["nope"])
    await store.delete(filter={"tag": "a"})
    assert await store.count({"tag": "a"}) == 0


async def test_get_returns_documents_in_the_order_asked_skipping_unknown_ids(
    open_store: StoreMaker,
) -> None:
    store = await filled(open_store)
    got = await store.get(["d3", "missing", "d0"])
    assert [d.id for d in got] == ["d3", "d0"]
    assert got[0].text == "text 3"
    assert got[0].metadata == CORPUS_META[3]
    assert got[1].metadata == CORPUS_META[0]
    assert await store.get([]) == []


async def test_count_with_and_without_a_filter(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    assert await store.count() == len(CORPUS_META)
    assert await store.count({"tag": "a"}) == 3
    assert await store.count({}) == len(CORPUS_META)


async def test_metadata_of_every_json_type_round_trips(open_store: StoreMaker) -> None:
    store = await open_store()
    meta = {"s": "é ✓", "i": -7, "f": 0.25, "b": True, "none": None, "l": [1, "x"], "d": {"k": 1}}
    await store.upsert([Document("x", id="m", metadata=meta)], [vec(1)])
    (got,) = await store.get(["m"])
    assert got.metadata == meta


# --- upsert semantics -------------------------------------------------------------------------


async def test_upsert_of_a_stored_id_replaces_document_and_vector(open_store: StoreMaker) -> None:
    store = await open_store()
    await store.upsert(
        [Document("old", id="x", metadata={"v": 1}), Document("other", id="y")],
        [axis(0), axis(1)],
    )
    await store.upsert([Document("new", id="x", metadata={"v": 2})], [axis(2)])
    assert await store.count() == 2
    (got,) = await store.get(["x"])
    assert got.text == "new"
    assert got.metadata == {"v": 2}
    (hit,) = await store.search(axis(2), k=1)
    assert hit.document.id == "x"
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert await store.count({"v": 1}) == 0
    hits = await store.search(axis(0), k=2)
    assert hits[0].document.id != "x" or hits[0].score < 0.5


async def test_upsert_of_an_empty_batch_is_a_no_op(open_store: StoreMaker) -> None:
    store = await open_store()
    await store.upsert([], [])
    assert await store.count() == 0


async def test_a_stored_document_is_not_shared_with_the_caller(open_store: StoreMaker) -> None:
    store = await open_store()
    doc = Document("x", id="x", metadata={"tags": ["a"], "user": "u1"})
    await store.upsert([doc], [vec(1)])
    doc.metadata["user"] = "u2"
    doc.metadata["tags"].append("b")
    (got,) = await store.get(["x"])
    assert got.metadata == {"tags": ["a"], "user": "u1"}
    got.metadata["user"] = "u3"
    (again,) = await store.get(["x"])
    assert again.metadata["user"] == "u1"


# --- search -----------------------------------------------------------------------------------


async def test_search_returns_the_closest_first_with_scores_higher_is_closer(
    open_store: StoreMaker,
) -> None:
    store = await filled(open_store)
    query = vec(3)
    hits = await store.search(query, k=4)
    assert len(hits) == 4
    assert hits[0].document.id == "d3"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0].document.text == "text 3"
    assert hits[0].document.metadata == CORPUS_META[3]


async def test_cosine_scores_are_cosine_similarities(open_store: StoreMaker) -> None:
    store = await open_store(metric="cosine")
    await store.upsert(
        [Document("a", id="a"), Document("b", id="b"), Document("c", id="c")],
        [[2.0, 0, 0, 0, 0, 0, 0, 0], [1.0, 1.0, 0, 0, 0, 0, 0, 0], [-3.0, 0, 0, 0, 0, 0, 0, 0]],
    )
    hits = await store.search([5.0, 0, 0, 0, 0, 0, 0, 0], k=3)
    assert [h.document.id for h in hits] == ["a", "b", "c"]
    assert [h.score for h in hits] == pytest.approx([1.0, math.sqrt(0.5), -1.0], abs=1e-5)


async def test_dot_scores_are_inner_products(open_store: StoreMaker) -> None:
    store = await open_store(metric="dot")
    await store.upsert(
        [Document("a", id="a"), Document("b", id="b")],
        [[2.0, 0, 0, 0, 0, 0, 0, 0], [1.0, 1.0, 0, 0, 0, 0, 0, 0]],
    )
    hits = await store.search([3.0, 1.0, 0, 0, 0, 0, 0, 0], k=2)
    assert [h.document.id for h in hits] == ["a", "b"]
    assert [h.score for h in hits] == pytest.approx([6.0, 4.0], abs=1e-4)


async def test_euclidean_scores_are_negated_distances(open_store: StoreMaker) -> None:
    store = await open_store(metric="euclidean")
    await store.upsert(
        [Document("a", id="a"), Document("b", id="b")],
        [[1.0, 0, 0, 0, 0, 0, 0, 0], [4.0, 5.0, 0, 0, 0, 0, 0, 0]],
    )
    hits = await store.search([1.0, 1.0, 0, 0, 0, 0, 0, 0], k=2)
    assert [h.document.id for h in hits] == ["a", "b"]
    assert [h.score for h in hits] == pytest.approx([-1.0, -5.0], abs=1e-4)


async def test_k_larger_than_the_store_returns_every_document(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    hits = await store.search(vec(0), k=1000)
    assert sorted(h.document.id for h in hits) == sorted(f"d{i}" for i in range(len(CORPUS_META)))


async def test_score_threshold_drops_hits_below_it(open_store: StoreMaker) -> None:
    store = await open_store()
    await store.upsert(
        [Document("a", id="a"), Document("b", id="b"), Document("c", id="c")],
        [axis(0), [1.0, 1.0, 0, 0, 0, 0, 0, 0], axis(1)],
    )
    hits = await store.search(axis(0), k=3, score_threshold=0.5)
    assert [h.document.id for h in hits] == ["a", "b"]
    assert await store.search(axis(0), k=3, score_threshold=1.5) == []


async def test_search_with_a_filter_ranks_only_matching_documents(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    hits = await store.search(vec(2), k=2, filter={"lang": "en"})
    assert hits[0].document.id == "d2"
    assert all(h.document.metadata["lang"] == "en" for h in hits)
    assert len(hits) == 2


# --- filters ----------------------------------------------------------------------------------

FILTERS: list[dict[str, Any]] = [
    {"tag": "a"},
    {"tag": "a", "lang": "en"},
    {"tag": {"$eq": "b"}},
    {"tag": {"$ne": "a"}},
    {"year": 2020},
    {"year": {"$gte": 2021}},
    {"year": {"$gt": 2020, "$lte": 2022}},
    {"year": {"$lt": 2020.5}},
    {"score": {"$gt": 0}},
    {"score": {"$lte": -2}},
    {"tag": {"$in": ["a", "c"]}},
    {"tag": {"$nin": ["a", "c"]}},
    {"tag": {"$in": []}},
    {"lang": {"$exists": False}},
    {"note": {"$exists": True}},
    {"draft": True},
    {"draft": False},
    {"draft": {"$ne": True}},
    {"n": 1},
    {"n": True},
    {"tag": "1"},
    {"year": "2024"},
    {"$or": [{"tag": "c"}, {"lang": "fr"}]},
    {"$and": [{"tag": "a"}, {"$or": [{"year": 2019}, {"year": {"$gt": 2020}}]}]},
    {"$or": [{"tag": {"$ne": "a"}}, {"tag": {"$exists": False}}]},
    {"list": 1},
    {"missing": "x"},
    {"lang": {"$in": ["en", "fr"]}, "draft": {"$exists": True}},
    {"year": {"$in": [2019, 2023.0, "2024"]}},
]


@pytest.mark.parametrize("spec", FILTERS, ids=str)
async def test_filters_select_what_the_reference_evaluator_selects(
    open_store: StoreMaker, spec: dict[str, Any]
) -> None:
    store = await filled(open_store)
    node = parse(spec)
    expected = {f"d{i}" for i, meta in enumerate(CORPUS_META) if matches(node, meta)}
    assert await ids_matching(store, spec) == expected
    assert await store.count(spec) == len(expected)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"tag": {"$regex": "a.*"}}, "unknown operator '$regex'"),
        ({"$nor": [{"tag": "a"}]}, "unknown operator '$nor'"),
        ({"year": {"$gt": "2020"}}, "$gt compares numbers"),
        ({"tag": None}, "use $exists"),
        ({"tag": {"$in": "a"}}, "takes a list"),
        ({"$or": []}, "non-empty list"),
        ({"year": float("nan")}, "not a finite number"),
        ({"tag": {"nested": 1}}, "unknown operator 'nested'"),
    ],
)
async def test_a_bad_filter_is_one_clear_error(
    open_store: StoreMaker, spec: dict[str, Any], says: str
) -> None:
    store = await filled(open_store)
    with pytest.raises(BelugaError) as excinfo:
        await store.search(vec(1), k=2, filter=spec)
    assert says in invalid(excinfo)
    with pytest.raises(BelugaError):
        await store.count(spec)
    with pytest.raises(BelugaError):
        await store.delete(filter=spec)
    assert await store.count() == len(CORPUS_META)


async def test_filter_keys_and_values_are_data_not_query_text(open_store: StoreMaker) -> None:
    store = await open_store()
    evil_key = "k' OR '1'='1"
    evil_value = "x'); DROP TABLE docs; --"
    await store.upsert(
        [
            Document("a", id="a", metadata={evil_key: evil_value, '"q"': 1}),
            Document("b", id="b", metadata={"k": "x"}),
        ],
        [vec(1), vec(2)],
    )
    assert await ids_matching(store, {evil_key: evil_value}) == {"a"}
    assert await ids_matching(store, {"k": evil_value}) == set()
    assert await ids_matching(store, {'"q"': 1}) == {"a"}
    assert await store.count() == 2


# --- delete -----------------------------------------------------------------------------------


async def test_delete_by_ids_ignores_unknown_ids(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    await store.delete(["d0", "d1", "unknown"])
    assert await store.count() == len(CORPUS_META) - 2
    assert await store.get(["d0", "d1", "d2"]) == await store.get(["d2"])
    assert "d0" not in {h.document.id for h in await store.search(vec(0), k=100)}


async def test_delete_by_filter_removes_every_match(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    await store.delete(filter={"tag": "a"})
    assert await store.count({"tag": "a"}) == 0
    assert await store.count() == len(CORPUS_META) - 3


async def test_delete_by_ids_and_filter_removes_the_ids_that_match(
    open_store: StoreMaker,
) -> None:
    store = await filled(open_store)
    await store.delete(["d0", "d1", "d2"], filter={"tag": "a"})
    assert {d.id for d in await store.get(["d0", "d1", "d2"])} == {"d1"}


async def test_delete_needs_ids_or_a_filter_and_empty_filter_means_all(
    open_store: StoreMaker,
) -> None:
    store = await filled(open_store)
    with pytest.raises(BelugaError) as excinfo:
        await store.delete()
    assert "filter={}" in invalid(excinfo)
    assert await store.count() == len(CORPUS_META)
    await store.delete([])
    assert await store.count() == len(CORPUS_META)
    await store.delete(filter={})
    assert await store.count() == 0
    await store.upsert([Document("again", id="d0")], [vec(0)])
    assert [d.text for d in await store.get(["d0"])] == ["again"]


# --- bad input --------------------------------------------------------------------------------


async def test_a_vector_of_the_wrong_size_is_refused(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    with pytest.raises(BelugaError) as excinfo:
        await store.upsert([Document("x", id="x")], [vec(1, DIM + 1)])
    assert f"holds vectors of {DIM}" in invalid(excinfo)
    with pytest.raises(BelugaError) as excinfo:
        await store.search(vec(1, DIM - 1), k=1)
    assert f"holds vectors of {DIM}" in invalid(excinfo)
    assert await store.count() == len(CORPUS_META)


@pytest.mark.parametrize(
    ("docs", "vectors", "says"),
    [
        (["a", "b"], [vec(1)], "2 documents and 1 vectors"),
        (["a", "a"], [vec(1), vec(2)], "twice in one batch"),
        (["a", "b"], [vec(1), [math.nan] * DIM], "NaN or infinity"),
        (["a"], [[math.inf] + [0.0] * (DIM - 1)], "NaN or infinity"),
        (["a", "b"], [vec(1), vec(2, DIM + 2)], "one length"),
        (["a"], [[0.0] * DIM], "all zeros"),
        ([""], [vec(1)], "no id"),
    ],
)
async def test_a_bad_batch_is_refused_whole(
    open_store: StoreMaker, docs: list[str], vectors: list[list[float]], says: str
) -> None:
    store = await open_store()
    await store.upsert([Document("kept", id="kept")], [vec(0)])
    batch = [Document(f"text {i}", id=i) for i in docs]
    if docs == [""]:
        batch[0].id = ""
    with pytest.raises(BelugaError) as excinfo:
        await store.upsert(batch, vectors)
    assert says in invalid(excinfo)
    assert await store.count() == 1


async def test_metadata_that_is_not_json_is_refused(open_store: StoreMaker) -> None:
    store = await open_store()
    with pytest.raises(BelugaError) as excinfo:
        await store.upsert([Document("x", id="x", metadata={"when": object()})], [vec(1)])
    assert "not plain JSON" in invalid(excinfo)
    with pytest.raises(BelugaError):
        await store.upsert([Document("x", id="x", metadata={"f": math.nan})], [vec(1)])
    assert await store.count() == 0


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
async def test_k_must_be_a_positive_int(open_store: StoreMaker, k: Any) -> None:
    store = await filled(open_store)
    with pytest.raises(BelugaError) as excinfo:
        await store.search(vec(1), k=k)
    assert "k must be" in invalid(excinfo)


async def test_a_nan_query_is_refused(open_store: StoreMaker) -> None:
    store = await filled(open_store)
    with pytest.raises(BelugaError) as excinfo:
        await store.search([math.nan] * DIM, k=1)
    assert "NaN" in invalid(excinfo)


# --- multimodal -------------------------------------------------------------------------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_documents_with_image_parts_are_stored_and_found(open_store: StoreMaker) -> None:
    store = await open_store()
    photo = Document(
        [TextPart("a red pixel"), ImagePart(data=PNG, media_type="image/png")],
        id="img",
        metadata={"modality": "image"},
    )
    linked = Document([ImagePart(url="https://example.com/cat.jpg")], id="url")
    await store.upsert([photo, linked, Document("text", id="t")], [axis(0), axis(1), axis(2)])
    (hit,) = await store.search(axis(0), k=1, filter={"modality": "image"})
    for got in (hit.document, (await store.get(["img"]))[0]):
        assert got.text == "a red pixel"
        image = got.content[1]
        assert isinstance(image, ImagePart)
        assert image.as_bytes() == PNG
        assert image.media_type == "image/png"
    (url,) = await store.get(["url"])
    assert isinstance(url.content[0], ImagePart)
    assert url.content[0].url == "https://example.com/cat.jpg"


# --- property tests: random documents and random filters agree with the reference ------------

_KEYS = ("a", "b", "c")
_VALUES = st.one_of(
    st.sampled_from(["x", "y", "1"]),
    st.integers(-2, 2),
    st.sampled_from([0.5, 1.0, -1.5]),
    st.booleans(),
)
_STORED = st.one_of(_VALUES, st.none(), st.just([1, "x"]))
_METADATA = st.dictionaries(st.sampled_from(_KEYS), _STORED, max_size=3)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(_KEYS)
    number = st.one_of(st.integers(-2, 2), st.sampled_from([0.5, 1.0, -1.5]))
    op = st.one_of(
        st.builds(lambda v: v, _VALUES),
        st.builds(lambda v: {"$eq": v}, _VALUES),
        st.builds(lambda v: {"$ne": v}, _VALUES),
        st.builds(lambda o, v: {o: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), number),
        st.builds(lambda vs: {"$in": vs}, st.lists(_VALUES, max_size=3)),
        st.builds(lambda vs: {"$nin": vs}, st.lists(_VALUES, max_size=3)),
        st.builds(lambda b: {"$exists": b}, st.booleans()),
    )
    return st.builds(lambda k, o: {k: o}, key, op)


FILTER_SPECS = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(lambda cs: {"$and": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$or": cs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=5,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    metas=st.lists(_METADATA, min_size=1, max_size=12),
    specs=st.lists(FILTER_SPECS, min_size=1, max_size=6),
)
async def test_random_filters_on_random_documents_agree_with_the_reference(
    open_store: StoreMaker, metas: list[dict[str, Any]], specs: list[dict[str, Any]]
) -> None:
    store = await open_store()
    docs = [Document(f"t{i}", id=f"r{i}", metadata=meta) for i, meta in enumerate(metas)]
    await store.upsert(docs, [vec(i) for i in range(len(docs))])
    for spec in specs:
        node = parse(spec)
        expected = {f"r{i}" for i, meta in enumerate(metas) if matches(node, meta)}
        hits = await store.search(vec(1000), k=len(docs), filter=spec)
        assert {h.document.id for h in hits} == expected, spec
        assert await store.count(spec) == len(expected), spec
