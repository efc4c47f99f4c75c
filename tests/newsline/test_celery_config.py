"""The Celery configuration the cluster's workers use (``newsline.celery_config``)."""

from __future__ import annotations

import json
import subprocess
import sys

from core.config import REPO_ROOT


def test_it_is_airflows_configuration_plus_the_preload() -> None:
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    from newsline.celery_config import CELERY_CONFIG

    assert {k: v for k, v in CELERY_CONFIG.items() if k != "imports"} == DEFAULT_CELERY_CONFIG
    assert CELERY_CONFIG["imports"] == ("newsline.worker_preload",)


def test_the_preload_imports_the_heavy_libraries_and_starts_no_thread() -> None:
    """The worker forks every task after importing it: the module must leave no thread running (a forked
    child gets a copy of the lock state but not the thread) and must not read a site profile (profiles
    are read again by every task, so an edited profile needs no worker restart)."""
    code = (
        "import json, sys, threading\n"
        "before = threading.active_count()\n"
        "import newsline.worker_preload\n"
        "print(json.dumps({'threads': threading.active_count() - before,\n"
        "                  'modules': sorted(m for m in ('pandas', 'pyarrow.parquet', 'boto3', 'yaml', 'lxml.html')\n"
        "                                    if m in sys.modules),\n"
        "                  'ours': sorted(m for m in sys.modules if m.split('.')[0] in ('core', 'crawler',\n"
        "                                 'transforms', 'warehouse') or m in ('newsline.pipeline', 'newsline.dagfactory'))}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO_ROOT),
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["threads"] == 0, got
    assert got["modules"] == ["boto3", "lxml.html", "pandas", "pyarrow.parquet", "yaml"], got
    assert got["ours"] == [], "only third-party libraries are preloaded"
