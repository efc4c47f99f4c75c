"""Scrapy's downloader with promises to a site kept that Scrapy 2.19 can break.

**Concurrency under a burst.** Scrapy 2.19 on the asyncio reactor (the one Newsline runs) lets a burst
of queued requests past ``CONCURRENT_REQUESTS_PER_DOMAIN``: ``Downloader._process_queue`` pops requests
while the host's slot has free transfer places, but a request only counts as transferring once its
download task has started, which ``loop.create_task`` defers until after the loop. So every request
waiting in the slot's queue was sent at once (13 at a time to a demo site with concurrency 2). With a
download delay the loop stops after one request, so only delay-0 crawls were affected; the profile's
concurrency is a promise to the site all the same. ``PoliteDownloader`` counts a request as
transferring the moment it leaves the slot's queue, which is what the limit means. The download task
adds it again (a set: no change) and removes it when the response or the error arrives, as before.

**The delay after a host's first request.** Scrapy counts the download delay from the moment a request
leaves the queue. The first request to a host also opens the connection (name lookup, TCP and TLS
handshakes, on a loaded machine a late thread), so it can reach the site a good part of the delay
later than that, and the next request, sent on time, then follows it almost at once: two requests 17 ms
apart at a 0.25 s delay, seen in the demo site's log on a loaded CI machine. ``PoliteDownloader`` sends
nothing else to a host (slot) while its first request is unanswered, and starts the delay again when
that answer (or error) arrives; the site has seen the request by then.

**The delay after a stall.** Any request waits for the event loop between leaving the queue and
reaching the wire. A crawler process that a loaded machine does not run for a while there sends it
late, while the next one's turn, counted from the queue, has come meanwhile: the two then reach the
site together (in CI the demo site logged two requests 2 ms apart at a 0.25 s delay, right after a
0.6 s gap). ``PoliteDownloader`` counts the delay from when a download really starts, not from the
queue, and when a host's turn comes more than a tenth of its delay after it was due, the crawler was
not running at that moment, so it waits a whole delay again from then. A stall past a turn (what CI
showed: about 0.35 s and 0.6 s at a 0.25 s delay) therefore costs one delay and brings no two requests
closer; a shorter stall, over before the next turn, still shortens that one gap by its length. Ruling
that out too would take one request at a time per host and the delay counted from each answer (what
Nutch and Heritrix do): a response time more per request, and on a live site under AutoThrottle (whose
delay follows the response time) half the rate. A turn that comes on time costs nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from scrapy.core.downloader import Downloader, Slot

#: A host's turn that comes later than this share of its delay after it was due means the crawler was
#: not running meanwhile (a stalled process, see the module doc): the delay starts again.
STALL_SHARE = 0.1


def _restart_delay(slot: Slot) -> None:
    """The slot's next request waits its delay from now (no change without a delay)."""
    if slot.delay:
        slot.lastseen = max(slot.lastseen, monotonic())


class _ReservingQueue(deque):
    """A slot's queue of (request, deferred): taking a request out marks it transferring at once (and
    tells ``on_take``)."""

    def __init__(self, slot: Slot, on_take: Callable[[Slot, Any], None], items: Any = ()) -> None:
        super().__init__(items)
        self._slot = slot
        self._on_take = on_take

    def popleft(self) -> Any:
        entry = super().popleft()
        self._slot.transferring.add(entry[0])
        self._on_take(self._slot, entry[0])
        return entry


class PoliteDownloader(Downloader):
    """``DOWNLOADER`` of the Newsline crawler (see the module doc)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        # per slot key (a host): the first request sent to it while unanswered, None once answered
        self._first: dict[str, Any] = {}
        # per slot (by id) with a timer set: when its turn is due at the latest, and the delay then
        self._due: dict[int, tuple[float, float]] = {}

    def _get_slot(self, request: Any, spider: Any = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, _ReservingQueue):
            slot.queue = _ReservingQueue(slot, self._taken, slot.queue)
        return key, slot

    def _taken(self, slot: Slot, request: Any) -> None:
        self._first.setdefault(request.meta[self.DOWNLOAD_SLOT], request)

    def _process_queue(self, slot: Slot) -> None:
        if slot.delay and slot.queue and self._first.get(slot.queue[0][0].meta[self.DOWNLOAD_SLOT]) is not None:
            return  # the host's first request is not answered yet: its answer restarts the queue
        timer = slot.latercall
        super()._process_queue(slot)
        if slot.latercall is not None and slot.latercall is not timer:
            # the host's next turn was just set: the latest it can be due (Scrapy draws each delay within
            # ±jitter), with the delay of this moment (AutoThrottle changes it as answers come in)
            self._due[id(slot)] = (slot.lastseen + slot.delay * (1 + slot.jitter), slot.delay)

    def _latercall(self, slot: Slot) -> None:
        due, delay = self._due.pop(id(slot), (None, 0.0))
        if due is not None and monotonic() - due > STALL_SHARE * delay:
            _restart_delay(slot)  # the turn came late, the crawler was stalled: the last request may have left only now
        super()._latercall(slot)

    async def _download(self, slot: Slot, request: Any) -> Any:
        _restart_delay(slot)  # the delay counts from when the download starts, not from the queue
        try:
            return await super()._download(slot, request)
        finally:
            key = request.meta[self.DOWNLOAD_SLOT]
            if self._first.get(key) is request:
                self._first[key] = None
                if slot.delay:  # the delay starts again at its answer, and the queue may go on
                    _restart_delay(slot)
                    self._process_queue(slot)
