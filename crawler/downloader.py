"""Scrapy's downloader with the per-site concurrency limit kept when many requests arrive at once.

Scrapy 2.19 on the asyncio reactor (the one Newsline runs) lets a burst of queued requests past
``CONCURRENT_REQUESTS_PER_DOMAIN``: ``Downloader._process_queue`` pops requests while the host's slot
has free transfer places, but a request only counts as transferring once its download task has started,
which ``loop.create_task`` defers until after the loop. So every request waiting in the slot's queue
was sent at once (13 at a time to a demo site with concurrency 2). With a download delay the loop stops
after one request, so only delay-0 crawls were affected; the profile's concurrency is a promise to the
site all the same.

``PoliteDownloader`` counts a request as transferring the moment it leaves the slot's queue, which is
what the limit means. The download task adds it again (a set: no change) and removes it when the
response or the error arrives, as before.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scrapy.core.downloader import Downloader, Slot


class _ReservingQueue(deque):
    """A slot's queue of (request, deferred): taking a request out marks it transferring at once."""

    def __init__(self, slot: Slot, items: Any = ()) -> None:
        super().__init__(items)
        self._slot = slot

    def popleft(self) -> Any:
        entry = super().popleft()
        self._slot.transferring.add(entry[0])
        return entry


class PoliteDownloader(Downloader):
    """``DOWNLOADER`` of the Newsline crawler (see the module doc)."""

    def _get_slot(self, request: Any, spider: Any = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, _ReservingQueue):
            slot.queue = _ReservingQueue(slot, slot.queue)
        return key, slot
