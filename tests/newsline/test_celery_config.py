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
        "                  'modules': sorted(m for m in ('pandas', 'pyarrow.parquet', 'boto3', 's3fs', 'yaml',\n"
        "                                              'lxml.html')\n"
        "                                    if m in sys.modules),\n"
        "                  'ours': sorted(m for m in sys.modules if m.split('.')[0] in ('core', 'crawler',\n"
        "                                 'transforms', 'warehouse') or m in ('newsline.pipeline', 'newsline.dagfactory'))}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO_ROOT),
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["threads"] == 0, got
    assert got["modules"] == ["boto3", "lxml.html", "pandas", "pyarrow.parquet", "s3fs", "yaml"], got
    # of ours, only the S3 layer (it reads no profile): its botocore models are parsed once in the worker
    assert got["ours"] == ["core", "core.sections", "warehouse", "warehouse.paths", "warehouse.s3",
                           "warehouse.storage"], got["ours"]


_EXIT_PROBE = """
import json, os, sys, time, uuid
import attrs, structlog
if sys.argv[1] == "watch":
    import newsline.worker_preload  # noqa: F401
from airflow.sdk.execution_time.supervisor import WatchedSubprocess


@attrs.define(kw_only=True)
class Probe(WatchedSubprocess):
    def wait(self):  # the shape of ActivitySubprocess._monitor_subprocess, with a long wake-up interval
        while self._exit_code is None or self._open_sockets:
            self._service_subprocess(max_wait_time=3.0)
        return self._exit_code


def task():  # closes its sockets first, exits 0.3 s later: the race, made certain
    os.closerange(0, 1024)
    time.sleep(0.3)


started = time.monotonic()
code = Probe.start(target=task, logger=structlog.get_logger(), id=uuid.uuid4()).wait()
print(json.dumps({"code": code, "waited": time.monotonic() - started}))
"""


def test_the_supervisor_notices_its_task_exiting_at_once() -> None:
    """Airflow's real supervisor forks a task that closes its sockets before it exits. Unwatched, the
    supervisor sleeps out its whole wake-up interval (3 s here, ``min_heartbeat_interval`` in a worker)
    with the slot taken; with the preload's pidfd it wakes when the process exits."""

    def waited(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", _EXIT_PROBE, mode], capture_output=True, text=True,
                             cwd=str(REPO_ROOT), timeout=120, check=True)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        assert got["code"] == 0, got
        return got["waited"]

    assert waited("plain") >= 3.0  # the race reproduced with Airflow's own code
    assert waited("watch") < 2.0
