"""A run's staging folder (``warehouse.paths.run_location``): items as JSON Lines, frames as Parquet.

The folder is local (``NEWSLINE_STAGING`` a path) or on the S3 API (``NEWSLINE_STAGING=s3://…``, for
workers that share no disk). Every write is atomic (temporary sibling + rename locally, one PUT on
S3), so a retried task never reads a half-written file left by a killed attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from core.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from warehouse.paths import is_remote, join
from warehouse.storage import (
    LocalStorage,
    conform,
    exchange_paths,
    fsync_dir,
    fsync_file,
    parquet_bytes,
    read_parquet_bytes,
    storage_for,
)

if TYPE_CHECKING:
    import pandas as pd

SCHEMAS: dict[str, pa.Schema] = {"articles": ARTICLES_SCHEMA, "quarantine": QUARANTINE_SCHEMA}


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write(path: str | Path, data: bytes) -> None:
    if is_remote(str(path)):
        storage_for(str(path)).write_atomic(str(path), data)
        return
    LocalStorage(str(Path(path).parent)).write_atomic(str(path), data)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a staged file (local path or ``s3://`` URI); a missing file raises FileNotFoundError."""
    if not is_remote(str(path)):
        return Path(path).read_bytes()
    data = storage_for(str(path)).read_bytes(str(path))
    if data is None:
        raise FileNotFoundError(str(path))
    return data


def exists(path: str | Path) -> bool:
    return storage_for(str(path)).exists(str(path)) if is_remote(str(path)) else Path(path).exists()


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write one staged file atomically (local rename or one S3 PUT)."""
    _write(path, data)


def write_json(path: str | Path, obj: Any) -> str:
    """Write a small JSON document (a run summary) atomically; returns the path."""
    _write(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return str(path)


def read_json(path: str | Path) -> dict[str, Any] | None:
    """A staged JSON document, or None when it is missing or unreadable."""
    try:
        return json.loads(read_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return None


def copy_file(src: str | Path, dest: str) -> None:
    """Copy a local file to ``dest`` (local path or ``s3://`` URI), atomically."""
    if is_remote(dest):
        storage_for(dest).write_atomic(dest, Path(src).read_bytes())
        return
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, target)


#: Uploaded last, so a reader that finds it finds every other file of the crawl folder.
_LAST = "crawl.json"


def publish_dir(work: Path, dest: str) -> str:
    """Put a finished local folder in place as ``dest``, replacing an older one, and return ``dest``.

    Local staging: the files made durable (fsync), then one rename (``work`` must be on the same file
    system), itself made durable, so a power cut after a caller went on (say, deleted what ``dest``
    now holds a copy of) cannot lose ``dest``. An older ``dest`` is swapped with ``work`` in the same
    single step (``exchange_paths``) and then removed under ``work``'s name; only where the file system
    cannot swap is it removed first (a crash in between leaves no ``dest``, which a retry rebuilds).
    S3 staging: every file is uploaded under ``dest/``, all at once, then ``crawl.json`` (the folder is
    complete once it is there); objects of an older attempt that this one did not write are deleted,
    and the local folder is removed."""
    if not is_remote(dest):
        final = Path(dest)
        final.parent.mkdir(parents=True, exist_ok=True)
        for path in work.iterdir():
            if path.is_file():
                fsync_file(str(path))
        fsync_dir(str(work))
        if final.exists() and exchange_paths(str(work), str(final)):
            # one step: readers see the old folder or the new one, never none and never a half-deleted one
            fsync_dir(str(final.parent))
            fsync_dir(str(work.parent))
            shutil.rmtree(work)  # the old folder, now under the private name (swept if we die here)
            return dest
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
        fsync_dir(str(final.parent))
        return dest
    store = storage_for(dest)
    names = sorted(p.name for p in work.iterdir() if p.is_file())
    store.write_many({join(dest, name): (work / name).read_bytes() for name in names if name != _LAST})
    if _LAST in names:
        store.write_atomic(join(dest, _LAST), (work / _LAST).read_bytes())
    for stale in store.list_files(dest):
        if stale.rsplit("/", 1)[-1] not in names:
            store.delete(stale)
    shutil.rmtree(work, ignore_errors=True)
    return dest


def list_files(prefix: str | Path) -> list[str]:
    """Every file under a staging folder (local path or ``s3://`` URI), as strings."""
    return storage_for(str(prefix)).list_files(str(prefix))


def list_stats(prefix: str | Path) -> dict[str, tuple[float, int]]:
    """Every file under a staging folder with (modified, epoch seconds; size, bytes): one listing."""
    return storage_for(str(prefix)).list_stats(str(prefix))


def delete_files(paths: Iterable[str | Path]) -> None:
    """Remove staged files (local paths or ``s3://`` URIs), in bulk; a missing one is no error."""
    names = [str(p) for p in paths]
    remote = [p for p in names if is_remote(p)]
    local = [p for p in names if not is_remote(p)]
    if remote:
        storage_for(remote[0]).delete_many(remote)
    if local:
        LocalStorage(os.sep).delete_many(local)


def local_copy(path: str, folder: Path) -> Path:
    """A local file with the contents of ``path``: the file itself when local, else a download into ``folder``."""
    if not is_remote(path):
        return Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{len(list(folder.iterdir())):04d}-{path.rsplit('/', 1)[-1]}"
    target.write_bytes(read_bytes(path))
    return target


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSON Lines (dates as ISO strings); returns how many were written."""
    lines = [json.dumps(r, ensure_ascii=False, default=_json_default) for r in records]
    _write(path, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))
    return len(lines)


def read_jsonl(path: str | Path, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The records of a JSON Lines file; a missing file raises unless ``missing_ok``."""
    if is_remote(str(path)):
        try:
            text = read_bytes(path).decode("utf-8")
        except FileNotFoundError:
            if missing_ok:
                return []
            raise
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    p = Path(path)
    if missing_ok and not p.exists():
        return []
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_table(path: str | Path, table: pa.Table) -> str:
    """Write a table as one zstd Parquet file, atomically; returns the path."""
    _write(path, parquet_bytes(table.combine_chunks()))
    return str(path)


def read_table(path: str | Path) -> pa.Table:
    return read_parquet_bytes(read_bytes(path))


def frame_table(frame: pd.DataFrame | pa.Table, schema: pa.Schema) -> pa.Table:
    """A DataFrame (or table) as exactly ``schema``; an empty input gives an empty table."""
    if not isinstance(frame, pa.Table):  # a DataFrame
        if len(frame) == 0:
            return schema.empty_table()
        frame = pa.Table.from_pandas(frame, preserve_index=False)
    return conform(frame, schema)


def write_frame(path: str | Path, frame: pd.DataFrame | pa.Table, *, kind: str) -> str:
    """Stage a frame under the schema of ``kind`` ("articles" or "quarantine")."""
    try:
        schema = SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(SCHEMAS)}") from None
    return write_table(path, frame_table(frame, schema))
