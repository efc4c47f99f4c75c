"""Byte-level storage behind the warehouse: atomic whole-file writes, listing, and the writer lock.

Every dataset file is small enough to be written in one piece, so "commit" means: write the bytes
under a temporary sibling name, then atomically rename it over the fixed name (local disk), or one
PUT of the fixed key (object stores, where a PUT is atomic). Readers therefore see the old file or
the new one, never a half-written file and never both.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import io
import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any, Protocol, TypeVar

import filelock
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from warehouse import paths

log = logging.getLogger(__name__)

#: Test hook for crash tests: when set to N, the process SIGKILLs itself at the N-th checkpoint it
#: passes. Checkpoints sit between every step of a commit (see ``checkpoint``).
CRASH_ENV = "NEWSLINE_WAREHOUSE_CRASH_AT"

_checkpoints_passed = 0


def checkpoint(label: str) -> None:
    """Numbered point where a crash test may kill the process; a no-op unless CRASH_ENV is set."""
    global _checkpoints_passed
    target = os.environ.get(CRASH_ENV)
    if not target:
        return
    _checkpoints_passed += 1
    if _checkpoints_passed == int(target):
        log.warning("crash hook: killing process at checkpoint %d (%s)", _checkpoints_passed, label)
        os.kill(os.getpid(), signal.SIGKILL)


class LockTimeout(TimeoutError):
    """Another writer held the dataset lock for longer than the caller was willing to wait."""


class Storage(Protocol):
    """What the warehouse needs from a filesystem; paths are the strings built by ``warehouse.paths``."""

    def read_bytes(self, path: str) -> bytes | None: ...

    def write_atomic(self, path: str, data: bytes) -> None: ...

    def delete(self, path: str) -> None: ...

    def exists(self, path: str) -> bool: ...  # of a file

    def list_files(self, prefix: str) -> list[str]: ...

    # every file under a prefix with (modification time in epoch seconds, size in bytes)
    def list_stats(self, prefix: str) -> dict[str, tuple[float, int]]: ...

    def delete_many(self, paths: list[str]) -> None: ...  # in bulk where the store can; missing ones are no error

    def read_many(self, paths: list[str]) -> dict[str, bytes]: ...  # concurrently where the store can; missing left out

    def existing(self, paths: list[str]) -> set[str]: ...  # which of these files exist; concurrently where the store can

    # ``write_atomic`` of each file, concurrently where the store can (each file is committed on its
    # own; it returns once every write has ended, and raises the first failure after that)
    def write_many(self, files: dict[str, bytes]) -> None: ...

    def sweep_temps(self, directory: str, older_than: float = 0.0, target: str | None = None) -> int: ...

    def lock(self, path: str, timeout: float) -> contextlib.AbstractContextManager[None]: ...

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]: ...


def _local_path(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


class LocalStorage:
    """A local directory tree; commits are ``os.replace`` of a fsynced temporary sibling."""

    def __init__(self, root: str) -> None:
        self.root = _local_path(root)

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with open(_local_path(path), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, data: bytes) -> None:
        target = _local_path(path)
        directory = os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        tmp = paths.temp_path(target, uuid.uuid4().hex[:12])
        checkpoint(f"before temp {target}")
        try:
            with open(tmp, "wb") as fh:
                half = len(data) // 2
                fh.write(data[:half])
                checkpoint(f"half-written temp {target}")
                fh.write(data[half:])
                fh.flush()
                os.fsync(fh.fileno())
            checkpoint(f"before rename {target}")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(directory)
        checkpoint(f"after rename {target}")

    def delete(self, path: str) -> None:
        target = _local_path(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
            fsync_dir(os.path.dirname(target))

    def exists(self, path: str) -> bool:
        return os.path.exists(_local_path(path))

    def list_files(self, prefix: str) -> list[str]:
        base = _local_path(prefix).rstrip("/")
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            out.extend(f"{dirpath}/{name}" for name in sorted(filenames))
        return out

    def list_stats(self, prefix: str) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        for path in self.list_files(prefix):
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(path)
                out[path] = (st.st_mtime, st.st_size)
        return out

    def delete_many(self, paths: list[str]) -> None:
        """Unlink each file, then make each folder's removals durable once (not once a file)."""
        folders: set[str] = set()
        for path in paths:
            target = _local_path(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
                folders.add(os.path.dirname(target))
        for folder in sorted(folders):
            fsync_dir(folder)

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        found = {path: self.read_bytes(path) for path in paths}
        return {path: data for path, data in found.items() if data is not None}

    def existing(self, paths: list[str]) -> set[str]:
        return {path for path in paths if self.exists(path)}

    def write_many(self, files: dict[str, bytes]) -> None:
        """One after the other, in the given order (a local write waits on its own fsyncs, not on a
        round trip)."""
        for path, data in files.items():
            self.write_atomic(path, data)

    def sweep_temps(self, directory: str, older_than: float = 0.0, target: str | None = None) -> int:
        """Remove temporary files a killed writer left behind (older than ``older_than`` seconds);
        ``target``: only those of that file name (``.<target>.<token>.tmp``).

        With ``older_than=0`` call it only while holding the lock of every file it may sweep, when no
        write of them is in flight (a site's lock covers only that site's ``target``).
        """
        base = _local_path(directory)
        removed = 0
        cutoff = time.time() - older_than
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(base):
                if not paths.is_temp_name(name) or (target is not None and not name.startswith(f".{target}.")):
                    continue
                path = os.path.join(base, name)
                with contextlib.suppress(FileNotFoundError):
                    if older_than <= 0 or os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
        return removed

    @contextlib.contextmanager
    def lock(self, path: str, timeout: float) -> Iterator[None]:
        """Exclusive lock on a lock file (``filelock``: an ``flock``, which the kernel releases if
        the holder dies)."""
        target = _local_path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        held = filelock.FileLock(target)
        try:
            held.acquire(timeout=timeout, poll_interval=0.02)
        except filelock.Timeout:
            raise LockTimeout(f"could not lock {target} within {timeout:.0f}s") from None
        try:
            yield
        finally:
            held.release()

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), self.root


def fsync_file(path: str) -> None:
    """Make a file's content durable (what another process wrote to it included)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str) -> None:
    """Make a rename durable: without this a power cut can forget the new directory entry."""
    fsync_file(directory or ".")


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


@functools.cache
def _renameat2() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange_paths(a: str, b: str) -> bool:
    """Swap two existing paths (folders included) in one atomic step: Linux ``renameat2`` with
    ``RENAME_EXCHANGE``. False, with nothing changed, where the system or the file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), a, None, b)


def storage_for(root: str) -> Storage:
    """The storage implementation for a warehouse root (a local path, ``file://`` or ``s3://`` URI)."""
    if root.startswith("s3://"):
        from warehouse.s3 import S3Storage

        return S3Storage(root)
    if paths.is_remote(root):
        raise ValueError(f"unsupported warehouse URI {root!r}: use a local path or s3://bucket/prefix")
    return LocalStorage(root)


# --- Parquet encoding -----------------------------------------------------------------------------


def parquet_bytes(table: pa.Table, row_group_size: int | None = None) -> bytes:
    """Encode a table as one zstd Parquet file; the same table always gives the same bytes."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_page_index=False, row_group_size=row_group_size)
    return sink.getvalue()


def read_parquet_bytes(data: bytes) -> pa.Table:
    # ParquetFile, unlike pq.read_table, does not pull in pyarrow.dataset (and with it pandas), which
    # keeps a writer process cheap to start.
    return pq.ParquetFile(pa.BufferReader(data)).read()


K = TypeVar("K")


def read_tables(store: Storage, files: dict[K, str], schema: pa.Schema) -> dict[K, pa.Table]:
    """The Parquet ``files`` (key -> path) read at once (``read_many``), each conformed to ``schema``;
    a missing file reads as an empty table."""
    found = store.read_many(list(files.values()))
    return {key: conform(read_parquet_bytes(found[path]), schema) if path in found else schema.empty_table()
            for key, path in files.items()}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, in order and type; absent nullable columns become
    nulls, so files written before a nullable column was added still read (schema evolution)."""
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            column = table[field.name]
            if column.type != field.type:
                column = column.cast(field.type)
            arrays.append(column)
        elif field.nullable:
            arrays.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ValueError(f"column {field.name!r} is required but missing")
    return pa.Table.from_arrays(arrays, schema=schema)
