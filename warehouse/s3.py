"""The warehouse on S3 (or any S3-compatible store): ``s3://bucket/prefix`` roots.

Commit = one PUT of the fixed key: S3 makes an object visible only when its upload completes, so a
reader gets the old object or the new one, never a part, and no temporary objects exist to sweep.

Connection settings come from the standard AWS environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL`` for MinIO/moto/…), the
same variables pandas, s3fs and botocore read, so every reader of the warehouse finds it too.

The writer lock (one per site) is a lock object (``_locks/<site>/articles.lock``) created with a conditional PUT
(``If-None-Match: *``): S3 lets exactly one creator win. The object holds its owner and an expiry;
a lock whose holder died (a SIGKILLed merge cannot delete it) is taken over after ``lock_ttl``
seconds, by a PUT conditional on the stale object's ETag (``If-Match``), so two writers cannot both
take it over. Consequence: ``lock_ttl`` must exceed the longest merge (default 15 minutes; a daily
merge takes seconds). On a store without conditional writes, run the loads in a single-writer pool
(Airflow ``pool`` with one slot) instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow.fs as pafs

from warehouse.storage import LockTimeout, checkpoint

log = logging.getLogger(__name__)

DEFAULT_LOCK_TTL = 900.0
#: Environment override of the lock lease, in seconds.
LOCK_TTL_ENV = "NEWSLINE_S3_LOCK_TTL"


#: Pauses between two tries for a held lock: the first, and the most it grows to.
LOCK_WAIT_FIRST = 0.05
LOCK_WAIT_MAX = 1.0


def lock_waits(rng: Any = random.random) -> Iterator[float]:
    """The pauses of a writer waiting for a held lock: 50 ms, doubling up to 1 s, each drawn from the
    upper half of its step so that writers which started waiting together spread out. Each try costs
    two S3 requests (the conditional PUT, then a GET of the holder's lease), so a fixed 50 ms poll
    cost ~40 requests a second per waiter for as long as a merge held the lock; this costs at most
    ~2 a second once the wait is long."""
    step = LOCK_WAIT_FIRST
    while True:
        yield step * (0.5 + 0.5 * rng())
        step = min(step * 2, LOCK_WAIT_MAX)


def _key(path: str) -> str:
    return path[len("s3://") :] if path.startswith("s3://") else path


def _is_precondition_failure(exc: OSError) -> bool:
    """s3fs reports a failed ``If-None-Match``/``If-Match`` as FileExistsError or EINVAL (HTTP 412)."""
    return isinstance(exc, FileExistsError) or exc.errno == errno.EINVAL or "Precondition" in str(exc)


#: Connections a process keeps open to the store (botocore's default is 10): a merge sends a batch's
#: partition files (a day: ~20 per dataset) at once, which should take one round trip, not three.
MAX_CONNECTIONS = 32

_FS_BY_KEY: dict[tuple[Any, ...], Any] = {}
_WARM_SESSION: tuple[tuple[str | None, ...], Any] | None = None


def _env_key() -> tuple[str | None, ...]:
    return tuple(os.environ.get(name) for name in (
        "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_PROFILE"))


def warm_client_models() -> None:
    """Parse botocore's S3 models (~1 MB of JSON) once, in a process that forks many short-lived ones
    (a Celery worker forks every task): each child then builds its S3 client from the parsed models,
    ~0.05 s of CPU instead of ~0.18 s. The session kept holds data only (no credentials resolved, no
    client, no connection, no thread), so a forked child may use it; it serves only children whose
    AWS_* environment is the one it was warmed under."""
    global _WARM_SESSION
    from aiobotocore.session import AioSession

    session = AioSession()
    loader = session.get_component("data_loader")
    loader.load_service_model("s3", "service-2")
    loader.load_service_model("s3", "endpoint-rule-set-1")
    for name in ("_retry", "sdk-default-configuration", "partitions"):
        loader.load_data(name)
    session.get_component("endpoint_resolver")
    _WARM_SESSION = (_env_key(), session)


def _process_fs(s3fs: Any) -> Any:
    """One S3 client per process and endpoint/credentials (creating one costs ~0.5 s); none
    inherited across a fork, whose connections belong to the parent. No listing cache: other
    processes change the bucket."""
    env = _env_key()
    key = (os.getpid(), *env)
    fs = _FS_BY_KEY.get(key)
    if fs is None:
        _FS_BY_KEY.clear()
        warm = {"session": _WARM_SESSION[1]} if _WARM_SESSION and _WARM_SESSION[0] == env else {}
        fs = _FS_BY_KEY[key] = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False,
                                                 config_kwargs={"max_pool_connections": MAX_CONNECTIONS}, **warm)
    return fs


class S3Storage:
    def __init__(self, root: str, *, lock_ttl: float | None = None, fs: Any = None) -> None:
        import s3fs

        self.root = root
        self.lock_ttl = lock_ttl if lock_ttl is not None else float(os.environ.get(LOCK_TTL_ENV) or DEFAULT_LOCK_TTL)
        self.fs = fs or _process_fs(s3fs)

    def read_bytes(self, path: str) -> bytes | None:
        try:  # one GET: by default s3fs first asks the size (a HEAD; and a listing, if the key is missing)
            return self.fs.cat_file(_key(path), max_concurrency=1)
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, data: bytes) -> None:
        checkpoint(f"before put {path}")
        self.fs.pipe_file(_key(path), data)
        checkpoint(f"after put {path}")

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(_key(path))

    def exists(self, path: str) -> bool:
        """Whether the object exists: one HEAD (``fs.exists`` adds a listing when the key is missing, to
        find a "folder" of that name; none of ours is asked about)."""
        bucket, key, _ = self.fs.split_path(_key(path))
        try:
            self.fs.call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def list_files(self, prefix: str) -> list[str]:
        try:
            found = self.fs.find(_key(prefix).rstrip("/"))
        except FileNotFoundError:
            return []
        return sorted(f"s3://{p}" for p in found)

    def list_stats(self, prefix: str) -> dict[str, tuple[float, int]]:
        """One listing (no HEAD per object): LastModified and Size come with it."""
        try:
            found = self.fs.find(_key(prefix).rstrip("/"), detail=True)
        except FileNotFoundError:
            return {}
        return {f"s3://{key}": (float(info["LastModified"].timestamp()), int(info.get("size") or 0))
                for key, info in sorted(found.items()) if info.get("type", "file") != "directory"}

    def delete_many(self, paths: list[str]) -> None:
        """DeleteObjects, up to 1,000 keys a request (a missing key is no error on S3)."""
        if paths:
            self.fs.rm([_key(path) for path in paths])

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """One GET per object, all at once (s3fs gathers them on its event loop); a missing object is
        left out, any other failure raises (never a file silently missing from a read)."""
        keys = {_key(path): path for path in paths}
        found = self.fs.cat(list(keys), on_error="return", max_concurrency=1) if keys else {}
        out: dict[str, bytes] = {}
        for key, data in found.items():
            if isinstance(data, FileNotFoundError):
                continue
            if isinstance(data, BaseException):
                raise data
            out[keys[key]] = data
        return out

    def existing(self, paths: list[str]) -> set[str]:
        """One HEAD per object, all at once."""
        async def head(path: str) -> str | None:
            bucket, key, _ = self.fs.split_path(_key(path))
            try:
                await self.fs._call_s3("head_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return None
            return path

        return {path for path in self._gather([head(p) for p in paths]) if path is not None}

    def write_many(self, files: dict[str, bytes]) -> None:
        """One PUT per object, all at once: a merge's partition files are independent commits (its
        journal covers any subset of them), so they need not wait for each other's round trips."""
        for path in files:
            checkpoint(f"before put {path}")

        async def put(path: str, data: bytes) -> None:
            await self.fs._pipe_file(_key(path), data)
            checkpoint(f"after put {path}")

        self._gather([put(p, d) for p, d in files.items()])

    def _gather(self, coros: list[Any]) -> list[Any]:
        """Run ``coros`` on the client's event loop, at most ``fs.batch_size`` at a time; wait for every
        one (none left running once this returns: a write must never land after the caller let go of
        its lock), then raise the first failure, if any."""
        from fsspec.asyn import _run_coros_in_chunks, sync

        if not coros:
            return []
        results = sync(self.fs.loop, _run_coros_in_chunks, coros, batch_size=self.fs.batch_size,
                       nofiles=True, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        return results

    def sweep_temps(self, directory: str, older_than: float = 0.0, target: str | None = None) -> int:
        return 0  # a PUT leaves no temporary object behind

    def _lock_body(self, token: str) -> bytes:
        now = time.time()
        return json.dumps(
            {
                "owner": token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "acquired_at": now,
                "expires_at": now + self.lock_ttl,
            }
        ).encode()

    def _try_take_over(self, key: str, token: str) -> bool:
        """Replace an expired lock object, conditionally on it being the very object we read: one GET
        gives its body and its ETag (of the same version), then a PUT conditional on that ETag."""
        bucket, name, _ = self.fs.split_path(key)

        async def fetch() -> tuple[str, bytes]:
            found = await self.fs._call_s3("get_object", Bucket=bucket, Key=name)
            async with found["Body"] as stream:
                return found["ETag"], await stream.read()

        try:
            ((etag, body),) = self._gather([fetch()])
            held = json.loads(body)
        except (FileNotFoundError, ValueError):
            return False
        if float(held.get("expires_at", 0)) > time.time():
            return False
        try:
            self.fs.pipe_file(key, self._lock_body(token), IfMatch=etag)
        except OSError as exc:
            if _is_precondition_failure(exc) or isinstance(exc, FileNotFoundError):
                return False
            raise
        log.warning("took over the expired lock %s of %s (pid %s)", key, held.get("host"), held.get("pid"))
        return True

    @contextlib.contextmanager
    def lock(self, path: str, timeout: float) -> Iterator[None]:
        key = _key(path)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        waits = lock_waits()
        while True:
            try:
                self.fs.pipe_file(key, self._lock_body(token), mode="create")
                break
            except OSError as exc:
                if not _is_precondition_failure(exc):
                    raise
            if self._try_take_over(key, token):
                break
            if time.monotonic() >= deadline:
                raise LockTimeout(f"could not lock s3://{key} within {timeout:.0f}s")
            time.sleep(min(next(waits), max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            self._release(key, token)

    def _release(self, key: str, token: str) -> None:
        data = self.read_bytes(f"s3://{key}")  # one GET
        try:
            held = json.loads(data) if data is not None else None
        except ValueError:
            held = None
        if held is None:
            return
        if held.get("owner") == token:
            self.delete(f"s3://{key}")
        else:
            log.warning("lock s3://%s was taken over while held (merge outlived lock_ttl?)", key)

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs)), _key(self.root)
