"""What the DAG files share (one definition each): the articles asset and the task defaults.
Cheap to import: DAG files import it at parse time."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset

from newsline.notify import on_failure

ARTICLES_ASSET = Asset(name="newsline_articles", uri="newsline://warehouse/articles", group="newsline")


def task_defaults(*, retries: int, retry_delay_s: float, execution_timeout: timedelta) -> dict[str, Any]:
    """Owner, retries with exponential back-off, a timeout and the failure alert for every task.

    ``NEWSLINE_TASK_RETRIES`` / ``NEWSLINE_TASK_RETRY_DELAY`` (seconds) override the retry policy at
    parse time (the end-to-end tests use them so that failures alert within seconds)."""
    return {
        "owner": "newsline",
        "retries": int(os.environ.get("NEWSLINE_TASK_RETRIES", retries)),
        "retry_delay": timedelta(seconds=float(os.environ.get("NEWSLINE_TASK_RETRY_DELAY", retry_delay_s))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
        "on_failure_callback": on_failure,
    }
