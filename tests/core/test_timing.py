"""The send marks ``beluga bench`` times from: only inside a watch, shared with child tasks."""

from __future__ import annotations

import asyncio

from beluga.core.timing import mark_send, watch_sends


async def test_a_send_outside_a_watch_is_not_noted() -> None:
    await mark_send(object())  # no error, nothing kept
    with watch_sends() as sends:
        pass
    await mark_send(object())
    assert sends == []


async def test_sends_in_the_block_and_its_child_tasks_are_noted_in_order() -> None:
    with watch_sends() as sends:
        await mark_send(object())
        await asyncio.create_task(mark_send(object()))
    assert len(sends) == 2 and sends[0] <= sends[1]


async def test_nested_watches_keep_their_own_marks() -> None:
    with watch_sends() as outer:
        with watch_sends() as inner:
            await mark_send(object())
        await mark_send(object())
    assert (len(outer), len(inner)) == (1, 1)
