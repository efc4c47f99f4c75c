"""Every storage path is built here, and only here."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from newsline.schema import is_slug

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


def run_dir(staging_root: str, site: str, day: date, run_id: str) -> Path:
    """Local working folder of one run: staged items, the WARC archive, the run summary."""
    return Path(staging_root) / check_slug(site, "site") / day.isoformat() / check_run_id(run_id)
