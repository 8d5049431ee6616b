"""The auto-publisher: a burst of changes is one publication; failures retry with backoff; stop ends it."""

from __future__ import annotations

import asyncio
import threading

from mercato.seller.node.autopublish import AutoPublisher, Results


async def test_a_burst_of_changes_becomes_one_publication() -> None:
    calls: list[int] = []

    def publish() -> Results:
        calls.append(1)
        return [("http://gw", 200, "ok")]

    pub = AutoPublisher(publish, debounce_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(pub.run(stop))
    await asyncio.sleep(0.05)
    for _ in range(10):
        pub.changed()
    await asyncio.sleep(0.6)
    assert calls == [1] and pub.published == 1
    threading.Thread(target=pub.changed).start()  # from another thread, as the admin API does
    await asyncio.sleep(0.6)
    assert len(calls) == 2 and pub.published == 2
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_failures_are_retried_with_growing_delays_until_accepted() -> None:
    answers = [
        [("http://gw", 503, "registry")],
        [("http://gw", 0, "unreachable")],
        [("http://gw", 200, "ok")],
    ]
    times: list[float] = []
    loop = asyncio.get_running_loop()

    def publish() -> Results:
        times.append(loop.time())
        return answers[min(len(times) - 1, 2)]

    pub = AutoPublisher(publish, debounce_s=0.0, first_retry_s=0.1, max_retry_s=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(pub.run(stop))
    await asyncio.sleep(0.05)
    pub.changed()
    for _ in range(100):
        if pub.published:
            break
        await asyncio.sleep(0.05)
    assert pub.published == 1 and len(times) == 3
    assert times[1] - times[0] >= 0.09 and times[2] - times[1] >= 0.19  # 0.1 s, then doubled
    assert pub.last_results == [("http://gw", 200, "ok")]
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_an_exception_in_publish_never_stops_the_node() -> None:
    n = 0

    def publish() -> Results:
        nonlocal n
        n += 1
        if n == 1:
            raise OSError("disk full")
        return [("http://gw", 200, "ok")]

    pub = AutoPublisher(publish, debounce_s=0.0, first_retry_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(pub.run(stop))
    await asyncio.sleep(0.05)
    pub.changed()
    for _ in range(60):
        if pub.published:
            break
        await asyncio.sleep(0.05)
    assert pub.published == 1 and n == 2
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_stop_ends_an_idle_publisher() -> None:
    pub = AutoPublisher(lambda: [], debounce_s=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(pub.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert pub.published == 0
