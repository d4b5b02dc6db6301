"""The send marks ``beluga bench`` times from: only inside a watch, shared with child tasks."""

from __future__ import annotations

import asyncio

from beluga.core.timing import mark_send, watch_sends


class _Request:
    def __init__(self, **extensions: object) -> None:
        self.extensions = dict(extensions)


async def test_a_send_outside_a_watch_is_not_noted() -> None:
    await mark_send(_Request())  # no error, nothing kept
    with watch_sends() as sends:
        pass
    await mark_send(_Request())
    assert sends == []


async def test_sends_in_the_block_and_its_child_tasks_are_noted_in_order() -> None:
    with watch_sends() as sends:
        await mark_send(_Request())
        await asyncio.create_task(mark_send(_Request()))
    assert len(sends) == 2 and sends[0] <= sends[1]


async def test_nested_watches_keep_their_own_marks() -> None:
    with watch_sends() as outer:
        with watch_sends() as inner:
            await mark_send(_Request())
        await mark_send(_Request())
    assert (len(outer), len(inner)) == (1, 1)


async def test_the_mark_moves_to_when_the_transport_starts_writing() -> None:
    request = _Request()
    with watch_sends() as sends:
        await mark_send(request)
        handed = sends[0]
        trace = request.extensions["trace"]
        await trace("http11.connection.started", {})
        assert sends == [handed]
        await trace("http11.send_request_headers.started", {})
    assert len(sends) == 1 and sends[0] > handed


async def test_a_trace_of_the_callers_own_is_kept() -> None:
    async def mine(event: str, info: dict[str, object]) -> None:
        return None

    request = _Request(trace=mine)
    with watch_sends() as sends:
        await mark_send(request)
    assert request.extensions["trace"] is mine and len(sends) == 1
    outside = _Request()
    await mark_send(outside)
    assert outside.extensions == {}
