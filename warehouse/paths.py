"""Every storage path is built here, and only here."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from core.sections import is_slug

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class InvalidPartitionValue(ValueError):
    """A value that would name a path is not a valid slug."""


def check_slug(value: object, what: str) -> str:
    if not is_slug(value):
        raise InvalidPartitionValue(f"{what} {value!r} is not a valid slug ([a-z0-9-]+)")
    return value  # type: ignore[return-value]


def check_run_id(run_id: str) -> str:
    if not _RUN_ID_RE.match(run_id) or ".." in run_id:
        raise InvalidPartitionValue(f"run id {run_id!r} is not path-safe")
    return run_id


def join(root: str, *parts: str) -> str:
    """Join path parts under a local path or an object-store URI (``s3://bucket/prefix``)."""
    return "/".join([root.rstrip("/"), *parts])


def partition_dir(root: str, dataset: str, day: date, section: str) -> str:
    """``<root>/<dataset>/date=YYYY-MM-DD/section=<slug>``: the one partition-path function."""
    if not isinstance(day, date):
        raise InvalidPartitionValue(f"date {day!r} is not a date")
    check_slug(dataset.replace("_", "-"), "dataset")
    return join(root, dataset, f"date={day.isoformat()}", f"section={check_slug(section, 'section')}")


def day_runs_dir(staging_root: str, site: str, day: date) -> Path:
    """Local folder holding every run of one site and day."""
    return Path(staging_root) / check_slug(site, "site") / day.isoformat()


def run_dir(staging_root: str, site: str, day: date, run_id: str) -> Path:
    """Local working folder of one run: staged items, the WARC archive, the run summary."""
    return day_runs_dir(staging_root, site, day) / check_run_id(run_id)


def day_runs_location(staging_root: str, site: str, day: date) -> str:
    """``day_runs_dir`` as a string that may also be an ``s3://`` URI."""
    if is_remote(staging_root):
        return join(staging_root, check_slug(site, "site"), day.isoformat())
    return str(day_runs_dir(staging_root, site, day))


def run_location(staging_root: str, site: str, day: date, run_id: str) -> str:
    """The run folder as a string: ``run_dir`` for a local staging root, ``s3://…/<site>/<day>/<run_id>``
    for an object-store one (``pathlib`` would fold ``s3://`` into a local folder named ``s3:``)."""
    if is_remote(staging_root):
        return join(day_runs_location(staging_root, site, day), check_run_id(run_id))
    return str(run_dir(staging_root, site, day, run_id))


def archive_copy(archive_root: str, site: str, day: date, run_id: str) -> Path:
    """Where a run's WARC is kept under a local archive root (see ``archive_location`` for any root)."""
    if is_remote(archive_root):
        raise InvalidPartitionValue(f"archive root {archive_root!r} is not a local path; use archive_location")
    return Path(archive_root) / check_slug(site, "site") / day.isoformat() / f"{check_run_id(run_id)}.warc.gz"


def warc_day_dir(staging_root: str, collection: str, day: date) -> Path:
    """Local folder of one web-archive collection's day: per-file staged output and the manifest."""
    return Path(staging_root) / "_warc" / check_slug(collection, "collection") / day.isoformat()


def warc_file_dir(staging_root: str, collection: str, day: date, file_name: str) -> Path:
    """Staged items and rejections read from one WARC file of the day."""
    return warc_day_dir(staging_root, collection, day) / "files" / _check_file_name(file_name)


def warc_manifest_entry(staging_root: str, collection: str, day: date, file_name: str) -> Path:
    """The day's manifest entry of one WARC file (written when the file has been read)."""
    return warc_day_dir(staging_root, collection, day) / "manifest" / f"{_check_file_name(file_name)}.json"


def warc_day_location(staging_root: str, collection: str, day: date) -> str:
    """``warc_day_dir`` as a string that may also be an ``s3://`` URI."""
    if is_remote(staging_root):
        return join(staging_root, "_warc", check_slug(collection, "collection"), day.isoformat())
    return str(warc_day_dir(staging_root, collection, day))


def warc_file_location(staging_root: str, collection: str, day: date, file_name: str) -> str:
    """``warc_file_dir`` for any staging root (local path or ``s3://`` URI)."""
    return join(warc_day_location(staging_root, collection, day), "files", _check_file_name(file_name))


def warc_manifest_location(staging_root: str, collection: str, day: date, file_name: str) -> str:
    """``warc_manifest_entry`` for any staging root (local path or ``s3://`` URI)."""
    return join(warc_day_location(staging_root, collection, day), "manifest", f"{_check_file_name(file_name)}.json")


def _check_file_name(name: str) -> str:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$", name) or ".." in name:
        raise InvalidPartitionValue(f"file name {name!r} is not path-safe")
    return name


def archive_location(archive_root: str, site: str, day: date, run_id: str) -> str:
    """Where a run's WARC is kept when an archive root is configured: a local path or an ``s3://`` URI."""
    if is_remote(archive_root):
        return join(archive_root, check_slug(site, "site"), day.isoformat(), f"{check_run_id(run_id)}.warc.gz")
    return str(archive_copy(archive_root, site, day, run_id))


def report_file(staging_root: str, site: str, day: date) -> Path:
    """The daily HTML report of one site and day."""
    return Path(staging_root) / "reports" / f"{check_slug(site, 'site')}-{day.isoformat()}.html"


def report_location(staging_root: str, site: str, day: date) -> str:
    """``report_file`` as a string that may also be an ``s3://`` URI (``…/reports/<site>-<day>.html``)."""
    if is_remote(staging_root):
        return join(staging_root, "reports", f"{check_slug(site, 'site')}-{day.isoformat()}.html")
    return str(report_file(staging_root, site, day))


# --- dataset layout -------------------------------------------------------------------------------

ARTICLES = "articles"
REVISIONS = "article_revisions"
QUARANTINE = "quarantine"

#: A partition holds one file per site, ``part-<site>.parquet``: a fixed name per site means a rewrite
#: replaces it in a single atomic step, and loads of different sites never write the same file.
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
#: The single file of a partition in the layout before multi-site (one file for every site); only
#: ``warehouse.maintenance.compact`` still reads it, to split it into per-site files.
LEGACY_PART_FILE = "part-0.parquet"

#: Prefix and suffix of in-flight files: readers skip dot-prefixed names (pyarrow's default
#: ``ignore_prefixes``) and ``*.parquet`` globs (DuckDB, Polars) never match the suffix.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def check_site(site: object) -> str:
    """A site key usable in file names: a slug, and not ``0`` (``part-0`` is the legacy file name)."""
    check_slug(site, "site")
    if site == "0":
        raise InvalidPartitionValue("site '0' is reserved (part-0.parquet is the legacy single-file layout)")
    return site  # type: ignore[return-value]


def part_name(site: str) -> str:
    """``part-<site>.parquet``: the one file of a site inside a partition."""
    return f"{PART_PREFIX}{check_site(site)}{PART_SUFFIX}"


def part_site(name: str) -> str | None:
    """The site of a ``part-<site>.parquet`` file name; None for the legacy ``part-0`` and other names."""
    if not (name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX)) or name == LEGACY_PART_FILE:
        return None
    site = name[len(PART_PREFIX) : -len(PART_SUFFIX)]
    return site if is_slug(site) else None


def partition_file(root: str, dataset: str, day: date, section: str, site: str) -> str:
    """``<root>/<dataset>/date=YYYY-MM-DD/section=<slug>/part-<site>.parquet``."""
    return join(partition_dir(root, dataset, day, section), part_name(site))


def legacy_partition_file(root: str, dataset: str, day: date, section: str) -> str:
    """``…/date=YYYY-MM-DD/section=<slug>/part-0.parquet`` of the pre-multi-site layout."""
    return join(partition_dir(root, dataset, day, section), LEGACY_PART_FILE)


def articles_file(root: str, day: date, section: str, site: str) -> str:
    return partition_file(root, ARTICLES, day, section, site)


def _folder_day(name: str) -> date | None:
    """The day of a ``date=YYYY-MM-DD`` folder name, or None if it is not one."""
    if not name.startswith("date="):
        return None
    try:
        return date.fromisoformat(name[len("date=") :])
    except ValueError:
        return None


def parse_partition_dir(path: str) -> tuple[date, str] | None:
    """``(day, section)`` of a ``…/date=YYYY-MM-DD/section=<slug>`` path, or None if it is not one."""
    parts = path.rstrip("/").split("/")
    if len(parts) < 2 or not parts[-1].startswith("section="):
        return None
    day = _folder_day(parts[-2])
    section = parts[-1][len("section=") :]
    return (day, section) if day is not None and is_slug(section) else None


def file_day(path: str) -> date | None:
    """The day of the ``date=`` folder a dataset file lies in (articles, revisions, quarantine), or None."""
    return next((day for day in map(_folder_day, path.split("/")[:-1]) if day is not None), None)


def index_dir(root: str, site: str | None) -> str:
    """``<root>/_index/<site>``: a site's index, deltas and journal (outside every dataset).
    ``site=None``: ``<root>/_index``, where the legacy single-site layout kept them."""
    return join(root, "_index") if site is None else join(root, "_index", check_site(site))


def index_file(root: str, site: str | None, dataset: str = ARTICLES) -> str:
    """Where each of a site's articles lives: ``<root>/_index/<site>/<dataset>.parquet``."""
    return join(index_dir(root, site), f"{dataset}.parquet")


def index_delta_file(root: str, site: str | None, seq: int, dataset: str = ARTICLES) -> str:
    """One merge's index change: ``<root>/_index/<site>/<dataset>.delta-<seq>.parquet`` (see warehouse.index)."""
    return join(index_dir(root, site), f"{dataset}.delta-{seq:08d}.parquet")


def journal_file(root: str, site: str | None, dataset: str = ARTICLES) -> str:
    """The rows a merge of one site is about to apply; present only while (or after a crash in) a merge."""
    return join(index_dir(root, site), f"{dataset}.pending.parquet")


def lock_file(root: str, site: str | None, dataset: str = ARTICLES) -> str:
    """``<root>/_locks/<site>/<dataset>.lock``: a site's writer lock. ``site=None``: the dataset-wide
    ``<root>/_locks/<dataset>.lock`` (the legacy writer lock; now taken only by ``compact``)."""
    if site is None:
        return join(root, "_locks", f"{dataset}.lock")
    return join(root, "_locks", check_site(site), f"{dataset}.lock")


def quarantine_file(root: str, day: date, run_id: str) -> str:
    """``<root>/quarantine/date=YYYY-MM-DD/run=<run_id>.parquet``: one file per run, replaced on re-run."""
    if not isinstance(day, date):
        raise InvalidPartitionValue(f"date {day!r} is not a date")
    return join(root, QUARANTINE, f"date={day.isoformat()}", f"run={check_run_id(run_id)}.parquet")


def temp_path(path: str, token: str) -> str:
    """A sibling name for writing ``path`` before the atomic rename: ``.<name>.<token>.tmp``."""
    head, _, name = path.rpartition("/")
    return f"{head}/{TEMP_PREFIX}{name}.{token}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def is_remote(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def duckdb_file(root: str) -> str:
    """The DuckDB database file holding the warehouse's views: ``<root>/_duckdb/newsline.duckdb``
    (outside every dataset, like ``_index``)."""
    return join(root, "_duckdb", "newsline.duckdb")
