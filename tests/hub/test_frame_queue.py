"""The subscribers' queue (hub/events.py): bounded, one reader, bursts taken at once."""

from __future__ import annotations

import asyncio

import pytest

from hub.events import Broker, FrameQueue, encode_sse


def test_wait_returns_at_once_when_something_is_queued() -> None:
    async def scenario() -> list[object]:
        queue = FrameQueue(4)
        queue.put_nowait((1, b"a"))
        queue.put_nowait((2, b"b"))
        assert await queue.wait(10) is True
        return list(queue.drain())

    assert asyncio.run(scenario()) == [(1, b"a"), (2, b"b")]


def test_wait_times_out_and_a_put_wakes_the_reader() -> None:
    async def scenario() -> tuple[bool, bool, float]:
        loop = asyncio.get_running_loop()
        queue = FrameQueue(4)
        timed_out = await queue.wait(0.01)
        loop.call_later(0.02, queue.put_nowait, (3, b"c"))
        start = loop.time()
        woken = await queue.wait(5)
        return timed_out, woken, loop.time() - start

    timed_out, woken, waited = asyncio.run(scenario())
    assert timed_out is False
    assert woken is True
    assert waited < 1


def test_full_queue_refuses_and_get_works_under_wait_for() -> None:
    async def scenario() -> object:
        queue = FrameQueue(1)
        queue.put_nowait((1, b"a"))
        with pytest.raises(asyncio.QueueFull):
            queue.put_nowait((2, b"b"))
        assert queue.get_nowait() == (1, b"a")
        with pytest.raises(asyncio.QueueEmpty):
            queue.get_nowait()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(queue.get(), 0.01)
        queue.put_nowait(None)
        return await asyncio.wait_for(queue.get(), 1)

    assert asyncio.run(scenario()) is None


def test_broker_cuts_off_a_stuck_subscriber_and_encodes_once() -> None:
    async def scenario() -> tuple[list[object], list[object], int]:
        broker = Broker()
        stuck = broker.subscribe("centro")
        stuck.queue.maxsize = 2
        other = broker.subscribe("elsewhere")
        events = [{"id": i, "type": "ticket.issued", "office": "centro"} for i in (1, 2, 3)]
        broker.publish(events)
        return stuck.queue.drain(), other.queue.drain(), len(broker)

    stuck_items, other_items, left = asyncio.run(scenario())
    assert stuck_items == [
        (2, encode_sse({"id": 2, "type": "ticket.issued", "office": "centro"})),
        None,
    ]
    assert other_items == []
    assert left == 1


def test_encoded_frame_is_compact_utf8() -> None:
    frame = encode_sse(
        {"id": 7, "type": "ticket.called", "office": "centro", "desk_name": "Mostrador ñ"}
    )
    assert (
        frame
        == (
            'id: 7\nevent: ticket.called\ndata: {"id":7,"type":"ticket.called",'
            '"office":"centro","desk_name":"Mostrador ñ"}\n\n'
        ).encode()
    )


def test_a_stream_that_subscribes_while_the_hub_stops_ends_at_once() -> None:
    async def scenario() -> tuple[list[object], list[object], int]:
        broker = Broker()
        before = broker.subscribe("centro")
        broker.close_all()
        late = broker.subscribe("centro")  # a request that was still reading the missed events
        broker.publish([{"id": 1, "type": "ticket.issued", "office": "centro"}])
        return before.queue.drain(), late.queue.drain(), len(broker)

    before, late, left = asyncio.run(scenario())
    assert before == [None] and late == [None] and left == 0
