"""Newsline: scheduled news ingestion (Scrapy → transforms → Parquet warehouse), orchestrated by Airflow."""

from __future__ import annotations

__version__ = "0.1.0"
