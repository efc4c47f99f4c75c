"""Field coverage of stored articles: which columns are measured, and the floors a day must meet.

One definition for the run checks (``newsline.pipeline``), the quality DAG (``newsline.quality``) and
the daily report (``newsline.report``). Kept apart from ``core.schema`` so importing it costs no pyarrow
(DAG files parse through these modules).
"""

from __future__ import annotations

#: Columns whose coverage (share of a day's stored articles with a value) runs report and watch.
COVERAGE_COLUMNS: tuple[str, ...] = (
    "title", "body", "published_at", "modified_at", "section", "subsection", "url", "byline", "dateline",
    "image_url", "summary", "keywords", "authors",
)
#: Minimum coverage of a day's articles: a run below one fails its checks, and so does the quality DAG.
COVERAGE_FLOORS: dict[str, float] = {"title": 1.0, "body": 1.0, "published_at": 1.0, "section": 1.0, "url": 1.0}

#: Coverage columns holding lists (present when non-empty) and timestamps (present when not null).
_LIST_COLUMNS = frozenset({"keywords", "authors"})
_TIMESTAMP_COLUMNS = frozenset({"published_at", "modified_at"})


def is_present(value: object) -> bool:
    """A stored value counts: not null/NaN, and not an empty string or list."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if hasattr(value, "__len__"):  # a list, or the numpy array a list column reads back as
        return len(value) > 0  # type: ignore[arg-type]
    return value == value  # NaN and NaT are not equal to themselves


def present_sql(column: str) -> str:
    """SQL (DuckDB) for ``is_present`` on an articles column."""
    if column in _LIST_COLUMNS:
        return f"len(coalesce({column}, [])) > 0"
    if column in _TIMESTAMP_COLUMNS:
        return f"{column} IS NOT NULL"
    return f"nullif(trim({column}), '') IS NOT NULL"


def coverage_sql(columns: tuple[str, ...] | list[str] = COVERAGE_COLUMNS) -> str:
    """SQL select items: the share of rows with each column present, named after the column."""
    return ", ".join(f"avg(CASE WHEN {present_sql(c)} THEN 1.0 ELSE 0.0 END) AS {c}" for c in columns)
