"""Airflow assets shared by the DAG files (one definition each). Cheap to import."""

from __future__ import annotations

from airflow.sdk import Asset

ARTICLES_ASSET = Asset(name="newsline_articles", uri="newsline://warehouse/articles", group="newsline")
