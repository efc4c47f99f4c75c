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
