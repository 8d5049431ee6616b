"""Keep the gateways' index of this node's catalog fresh without anyone running `mercato seller publish`.

The node publishes a signed snapshot to every configured gateway once it is subscribed, and again
after every catalog change made through the admin API (debounced, so a burst of edits becomes one
publication). A gateway that cannot take it (down, registry busy) is retried with exponential backoff
until it does or the catalog changes again. Prices and stock in a publication are informative only:
buyers always get them confirmed by this node at ``select``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger("mercato.seller.publish")

Results = list[tuple[str, int, str]]  # (gateway URL, HTTP status or 0 when unreachable, answer)


class AutoPublisher:
    def __init__(
        self,
        publish: Callable[[], Results],
        *,
        debounce_s: float = 0.5,
        first_retry_s: float = 1.0,
        max_retry_s: float = 300.0,
    ) -> None:
        self._publish = publish
        self.debounce_s = debounce_s
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.published = 0  # publications every gateway accepted
        self.last_results: Results = []

    def changed(self) -> None:
        """The catalog changed: publish soon. Safe to call from any thread, before or after start."""
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        retry = self.first_retry_s
        while not stop.is_set():
            if not await _first_of(self._event, stop):
                return
            await asyncio.sleep(self.debounce_s)
            self._event.clear()
            try:
                results = await asyncio.to_thread(self._publish)
            except Exception as exc:  # noqa: BLE001 - a publication must never stop the node
                results = [("*", 0, f"{type(exc).__name__}: {exc}")]
            self.last_results = results
            failed = [(url, status, text[:200]) for url, status, text in results if not 200 <= status < 300]
            if not failed:
                self.published += 1
                retry = self.first_retry_s
                log.info("catalog published to %d gateway(s)", len(results))
                continue
            for url, status, text in failed:
                log.warning(
                    "catalog publication to %s failed (%s): %s; retrying in %gs", url, status, text, retry
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry)  # a change also waits: no hot loop
            retry = min(self.max_retry_s, retry * 2)
            self._event.set()


async def _first_of(event: asyncio.Event, stop: asyncio.Event) -> bool:
    """Wait until ``event`` or ``stop`` is set; True for the event."""
    if event.is_set():
        return True
    waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for p in pending:
        p.cancel()
    return event.is_set() and not stop.is_set()
