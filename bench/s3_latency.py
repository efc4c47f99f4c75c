"""Benchmark: what a load on S3 pays for the store's round trips.

Every S3 request is a round trip: a millisecond or two on this machine's S3 server, several inside a
cloud region, tens of milliseconds across regions or to a bucket on another continent. A merge that
waited for each of its ~120 requests in turn (a one-day load of 22 partitions) would pay ~120 of them;
ours reads, checks and writes a batch's partition files at once, so it should wait for about fifteen.

One day (200 new + 20 revised articles over 22 partitions, as in the table-format benchmark) is
loaded into a 20-day table on one S3 server (moto, its own process), alternately straight to the
server and through ``DelayProxy``, a TCP relay on 127.0.0.1 that holds every chunk of bytes for
``one_way`` seconds in each direction (a round trip of ``2 × one_way``, bandwidth unlimited), as a
longer link would. The row: the seconds the link added to a load, counted in round trips,
``(proxied − direct) / RTT``: how many round trips the load waited for one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from bench.common import BenchResult, check, interleaved, med

AIM = "<= 30"


class DelayProxy:
    """A TCP relay from a free port on 127.0.0.1 to ``target_port``: every chunk read from either side
    is written to the other ``one_way`` seconds after it arrived (order kept; chunks in flight do not
    wait for each other, so only latency is added, not a bandwidth limit)."""

    def __init__(self, target_port: int, one_way: float) -> None:
        self.target_port = target_port
        self.one_way = one_way
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a side hung up, or the relay is shutting down (a relay ends quietly either way)
        finally:
            for writer in (client_w, server_w):
                writer.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not chunk:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(chunk)
                await sink.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                chunk = await source.read(1 << 16)
                queue.put_nowait((loop.time() + self.one_way, chunk))
                if not chunk:
                    break
            await sender
        finally:
            sender.cancel()


def run(history_days: int = 20, rounds: int = 5, one_way: float = 0.025) -> list[BenchResult]:
    import logging

    import pyarrow as pa

    from bench.table_format import BUCKET, PER_DAY, START, UPDATES, day_batch, first_id_of, s3_server, site_day
    from warehouse.articles import merge_articles
    from warehouse.storage import storage_for

    logging.getLogger("warehouse").setLevel(logging.ERROR)
    root = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}/latency"
    requests: Counter[str] = Counter()
    partitions: list[int] = []
    with s3_server() as direct, DelayProxy(int(direct.rsplit(":", 1)[1]), one_way) as proxy:
        proxied = f"http://127.0.0.1:{proxy.port}"
        merge_articles(root, pa.concat_tables([
            site_day("japannews", START + timedelta(days=i), PER_DAY, first_id_of(START + timedelta(days=i)))
            for i in range(history_days)]), run_id="history")
        days = iter(range(history_days, history_days + 2 * rounds))

        def load(endpoint: str) -> float:
            n = next(days)
            batch = day_batch(START + timedelta(days=n))
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            store = storage_for(root)  # the process's client for this endpoint, made before the clock starts
            seen: Counter[str] = Counter()

            def count(model: Any, **_: Any) -> None:
                seen.update([model.name])

            store.fs.s3.meta.events.register("before-call.s3", count)
            t0 = time.perf_counter()
            result = merge_articles(root, batch, run_id=f"day-{n}")
            elapsed = time.perf_counter() - t0
            store.fs.s3.meta.events.unregister("before-call.s3", count)
            requests.update(seen)
            partitions.append(len(result.partitions_written))
            return elapsed

        times = interleaved({"direct": lambda: load(direct), "proxied": lambda: load(proxied)}, rounds)
    rtt = 2 * one_way
    direct_s, proxied_s = med(times["direct"]), med(times["proxied"])
    waited = (proxied_s - direct_s) / rtt
    loads = 2 * rounds
    per_load = {k: round(v / loads) for k, v in sorted(requests.items())}
    return [BenchResult(
        name=f"Load one day on S3 through a {rtt * 1000:.0f} ms round-trip link: time added, in round trips",
        ratio=waited, aim=AIM, met=check(waited, AIM),
        detail=(f"direct {direct_s * 1000:.0f} ms, through the link {proxied_s * 1000:.0f} ms (median of {rounds} "
                f"alternated); {PER_DAY} new + {UPDATES} revised articles into {history_days} days of history, "
                f"{med(partitions):.0f} partitions written per load; {sum(per_load.values())} S3 requests per load "
                f"({', '.join(f'{k} {v}' for k, v in per_load.items())})"),
        extra={"direct_s": direct_s, "proxied_s": proxied_s})]


def bench(quick: bool) -> list[BenchResult]:
    """``python -m bench --only s3rtt``; ``--quick``: 3 alternated rounds."""
    return run(rounds=3) if quick else run()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        for row in run():
            print(row.row())
