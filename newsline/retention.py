"""Retention of run folders: ``newsline prune-runs``.

Every run leaves a folder under ``NEWSLINE_STAGING`` (``<site>/<day>/<run_id>/``): the crawl's items,
rejections, raw archive (WARC) and logs, the cleaned and quarantined frames, the shards' parts, the run
summary. Once the day is loaded the warehouse holds the rows, so hundreds of sites a day fill a disk or a
bucket with copies nobody reads. What stays useful is small, and is kept: ``summary.json`` and every
``crawl.json`` (the daily report and an audit read them), and the raw archive that ``newsline reprocess``
needs, unless a copy of it is under ``NEWSLINE_ARCHIVE``.

A run folder is pruned only when none of its files changed for ``older_than_days`` (file modification
times, not the day's date: a backfill of an old day is recent), so a run in progress or waiting for a
retry is never touched. A folder a killed attempt left (``.crawl-*``) goes whole.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from warehouse.paths import archive_location, is_remote, join
from warehouse.staging import delete_files, list_stats

#: Kept in every pruned run folder, wherever they are in it.
KEPT_NAMES = frozenset({"summary.json", "crawl.json"})
#: The run's raw archive as a crawl publishes it (``<run>/crawl/archive.warc.gz``): the one with a copy
#: under ``NEWSLINE_ARCHIVE`` (``archive_location``).
RUN_ARCHIVE = "crawl/archive.warc.gz"
_RUN_PATH = re.compile(r"^(?P<site>[a-z0-9][a-z0-9_-]*)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<run>[^/]+)/(?P<rest>.+)$")


@dataclass
class PruneResult:
    """What ``prune_runs`` did (or, with ``dry_run``, would do)."""

    older_than_days: float
    dry_run: bool
    runs_pruned: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0
    runs_recent: int = 0  # run folders with a file changed within the window: left alone
    archives_deleted: int = 0
    archives_kept: list[str] = field(default_factory=list)  # raw archives with no copy under the archive root

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        verb = "would prune" if self.dry_run else "pruned"
        line = (f"{verb} {self.runs_pruned} run folder(s) unchanged for {self.older_than_days:g} days: "
                f"{self.files_deleted} file(s), {self.bytes_freed / 1e6:.1f} MB; "
                f"{self.runs_recent} more recent run folder(s) left alone")
        if self.archives_deleted:
            line += f"; {self.archives_deleted} raw archive(s) deleted"
        if self.archives_kept:
            line += (f"; kept {len(self.archives_kept)} raw archive(s) that have no copy under NEWSLINE_ARCHIVE "
                     f"(what `newsline reprocess` reads; --including-archives deletes them too)")
        return line


def prune_runs(staging: str, older_than_days: float, *, archive: str | None = None, site: str | None = None,
               including_archives: bool = False, dry_run: bool = False, now: float | None = None) -> PruneResult:
    """Delete what old run folders under ``staging`` (local or ``s3://``) no longer need (module doc).

    ``archive``: the archive root (``NEWSLINE_ARCHIVE``); a run's raw archive is deleted only when its
    copy there exists with the same size, or with ``including_archives``. ``site``: only that site's."""
    if not older_than_days or older_than_days < 1:
        raise ValueError(f"--older-than must be at least 1 day (a younger run may still be running), got {older_than_days:g}")
    now = time.time() if now is None else now
    cutoff = now - older_than_days * 86400
    result = PruneResult(older_than_days=older_than_days, dry_run=dry_run)
    root = staging.removeprefix("file://").rstrip("/")
    runs: dict[tuple[str, str, str], dict[str, tuple[str, float, int]]] = {}
    for path, (modified, size) in list_stats(join(root, site) if site else root).items():
        match = _RUN_PATH.match(path[len(root):].lstrip("/"))
        if match:
            runs.setdefault((match["site"], match["day"], match["run"]), {})[match["rest"]] = (path, modified, size)
    archive_copy = _archive_copies(archive)
    doomed: list[str] = []
    for (site_key, day, run_id), files in sorted(runs.items()):
        if max(modified for _, modified, _ in files.values()) > cutoff:
            result.runs_recent += 1
            continue
        gone = [rest for rest in files if _prunable(rest)]
        copy = archive_copy(site_key, day, run_id) if RUN_ARCHIVE in files else None
        for rest in [r for r in gone if r.endswith(".warc.gz") and not r.split("/", 1)[0].startswith(".crawl-")]:
            if including_archives or (rest == RUN_ARCHIVE and copy is not None and copy == files[rest][2]):
                result.archives_deleted += 1
            else:
                gone.remove(rest)
                result.archives_kept.append(files[rest][0])
        if not gone:
            continue
        result.runs_pruned += 1
        result.files_deleted += len(gone)
        result.bytes_freed += sum(files[rest][2] for rest in gone)
        doomed.extend(files[rest][0] for rest in gone)
    if doomed and not dry_run:
        delete_files(doomed)
        if not is_remote(root):
            _remove_empty_folders(root, {p.rsplit("/", 1)[0] for p in doomed})
    return result


def _prunable(rest: str) -> bool:
    """A file of a run folder (path inside it) that pruning deletes."""
    parts = rest.split("/")
    return parts[0].startswith(".crawl-") or parts[-1] not in KEPT_NAMES


def _archive_copies(archive: str | None) -> Callable[[str, str, str], int | None]:
    """A lookup: the size of a run's raw archive copy under the archive root, or None when there is none
    (one listing per site-day folder of the archive)."""
    folders: dict[str, dict[str, int]] = {}

    def size(site: str, day: str, run_id: str) -> int | None:
        if not archive:
            return None
        folder, name = archive_location(archive, site, date.fromisoformat(day), run_id).rsplit("/", 1)
        if folder not in folders:
            folders[folder] = {p.rsplit("/", 1)[-1]: size for p, (_m, size) in list_stats(folder).items()
                               if p.rsplit("/", 2)[-2] == day}
        return folders[folder].get(name)

    return size


def _remove_empty_folders(root: str, folders: set[str]) -> None:
    """Local staging: remove the folders inside run folders that pruning emptied, deepest first (a run
    folder itself keeps its summary)."""
    for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
        current = folder
        while current.rstrip("/") != root and current.count("/") > root.count("/") + 3:
            try:
                os.rmdir(current)
            except OSError:
                break
            current = current.rsplit("/", 1)[0]
