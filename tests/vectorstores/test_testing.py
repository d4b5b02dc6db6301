"""The test doubles: a recording wrapper and a store that always fails."""

from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores import VectorStore
from beluga.vectorstores.testing import (
    FailingVectorStore,
    InMemoryVectorStore,
    RecordedCall,
    RecordingVectorStore,
)


async def test_the_recording_store_records_and_forwards() -> None:
    async with RecordingVectorStore() as store:
        assert isinstance(store, VectorStore)
        await store.upsert([Document("a", id="a", metadata={"s": "1"})], [[1.0, 0.0]])
        (hit,) = await store.search([1.0, 0.0], k=1, filter={"s": "1"})
        assert hit.document.id == "a"
        assert await store.count() == 1
        assert [d.id for d in await store.get(["a"])] == ["a"]
        await store.delete(["a"])
        methods = [call.method for call in store.calls]
        assert methods == ["upsert", "search", "count", "get", "delete"]
        assert store.calls[1] == RecordedCall(
            "search", {"k": 1, "filter": {"s": "1"}, "score_threshold": None}
        )
        assert isinstance(store.inner, InMemoryVectorStore)


async def test_the_failing_store_raises_its_error_on_every_call() -> None:
    store = FailingVectorStore()
    assert isinstance(store, VectorStore)
    with pytest.raises(BelugaError) as excinfo:
        await store.search([1.0], k=1)
    assert excinfo.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert excinfo.value.retryable
    with pytest.raises(BelugaError):
        await store.count()
    assert store.calls == 2
