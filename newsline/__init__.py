"""Newsline: scheduled news ingestion (Scrapy → transforms → Parquet warehouse), orchestrated by Airflow.

For analysts: ``newsline.read_articles(root, start=…, end=…, sites=…, sections=…, columns=…)`` returns the
articles as a pandas DataFrame with a typed ``date`` (see ``warehouse.reader.read_articles``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["read_articles"]


def __getattr__(name: str) -> Any:
    # Lazy: importing ``newsline`` (or ``core.schema``) must not load pandas/pyarrow readers.
    if name == "read_articles":
        from warehouse.reader import read_articles

        return read_articles
    raise AttributeError(f"module 'newsline' has no attribute {name!r}")
