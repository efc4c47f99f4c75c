"""Suite-wide isolation: Airflow and Newsline never write outside a temporary folder during tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="newsline-tests-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
REPO = Path(__file__).resolve().parents[1]

# Set before anything imports Airflow: its configuration is read once at import time.
os.environ.setdefault("AIRFLOW_HOME", str(_TMP / "airflow"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ.setdefault("NEWSLINE_WAREHOUSE", str(_TMP / "warehouse"))
os.environ.setdefault("NEWSLINE_STAGING", str(_TMP / "runs"))


# --- tiers ---------------------------------------------------------------------------------------------------
# unit (no marker): pure functions, in-process fakes-free checks; `make test-fast` runs only these (< 60 s).
# integration: real subprocess crawls, moto S3 servers, crash loops, DAG-file probes.
# e2e: real Airflow (dags test, scheduler services, the Celery cluster).
# `make test` runs every tier in parallel (pytest-xdist, one module per worker: module fixtures are shared).
import pytest  # noqa: E402

E2E_MODULES = frozenset({
    "e2e/test_airflow_demo_days.py", "e2e/test_airflow_world.py", "e2e/test_scheduler.py",
    "cluster/test_celery_cluster.py", "warc/test_airflow_ccnews.py",
})
INTEGRATION_DIRS = frozenset({"crawl_faults", "cluster"})
INTEGRATION_MODULES = frozenset({
    "crawler/test_jn_spider.py", "crawler/test_jn_demo.py", "crawler/test_monitors_and_urls.py",
    "crawler/test_crawl_hardening.py", "crawler/test_scrapy_cli.py", "dags/test_dag_integrity.py",
    "warehouse/test_crash.py", "warehouse/test_concurrency.py", "warehouse/test_s3.py", "analyst/test_s3.py",
    "analyst/test_examples.py", "newsline/test_reprocess.py", "warc/test_live_and_archive.py",
    "sites/test_new_site.py", "bench/test_bench_harness.py",
})
TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(TESTS_DIR).as_posix()
        if rel in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
        elif rel in INTEGRATION_MODULES or rel.split("/")[0] in INTEGRATION_DIRS or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)
