"""Real Airflow for end-to-end tests: metadata in SQLite in a temp folder, our dags/ folder, and the
services the scheduler needs (API server for task execution, scheduler, DAG processor), all on
127.0.0.1, started as process groups and stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsline.demo import airflow_env, sites_dir_with  # noqa: F401 - re-exported for the tests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_env(home: Path, *, base_url: str | dict[str, str], warehouse: Path, staging: Path,
             extra: dict[str, str] | None = None) -> dict[str, str]:
    """``base_url``: the Japan News demo root, or site key → root for several sites."""
    env = airflow_env(base_url if isinstance(base_url, dict) else {"japannews": base_url}, home=home)
    api_port = free_port()
    env.update({
        "NEWSLINE_WAREHOUSE": str(warehouse),
        "NEWSLINE_STAGING": str(staging),
        "NEWSLINE_DOWNLOAD_DELAY": "0",
        "NEWSLINE_CONCURRENCY": "8",
        "AIRFLOW__API_AUTH__JWT_SECRET": "newsline-test-secret",
        "AIRFLOW__API__SECRET_KEY": "newsline-test-secret",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    })
    env.update(extra or {})
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One Airflow CLI command. SQLite (the test metadata database) can refuse a write with "database is
    locked" at once, whatever the busy timeout, when a read transaction of the running scheduler must be
    upgraded: the command's transaction is rolled back, so it is run again (at most 3 times)."""
    for attempt in range(3):
        proc = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 0 or "database is locked" not in proc.stdout + proc.stderr or attempt == 2:
            break
        time.sleep(2 + 3 * attempt)
    if check and proc.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-5000:]}")
    return proc


class AirflowServices:
    """``with AirflowServices(env) as af:`` runs api-server, scheduler and dag-processor."""

    COMPONENTS = ("api-server", "scheduler", "dag-processor")

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> AirflowServices:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.COMPONENTS:
            log = (self.log_dir / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen([str(BIN / "airflow"), name], env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self, timeout: float = 30) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + timeout
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the API server's workers can outlive their parent: clean the whole group
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            codes[name] = proc.wait(timeout=10)
        for proc in self.procs.values():
            _wait_group_gone(proc.pid)
        return codes

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def logs(self, tail: int = 60) -> str:
        out = []
        for name in self.COMPONENTS:
            path = self.log_dir / f"{name}.log"
            lines = path.read_text(errors="replace").splitlines()[-tail:] if path.exists() else []
            out.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(out)


def _wait_group_gone(pgid: int, timeout: float = 10) -> None:
    """Wait until no process of the group is left: members SIGKILLed with their leader exit, and are
    reaped, a moment after the signal (a clean-clone CI run once found one still there right after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def dag_runs(env: dict[str, str], dag_id: str) -> list[dict[str, Any]]:
    proc = airflow(env, "dags", "list-runs", dag_id, "--output", "json", check=False)
    text = proc.stdout.strip()
    start = text.find("[")
    return json.loads(text[start:]) if start >= 0 else []


def wait_for_runs(env: dict[str, str], dag_id: str, count: int, timeout: float,
                  services: AirflowServices | None = None) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    runs: list[dict[str, Any]] = []
    while time.time() < deadline:
        runs = dag_runs(env, dag_id)
        done = [r for r in runs if r.get("state") in ("success", "failed")]
        if len(done) >= count and all(r.get("state") in ("success", "failed") for r in runs):
            return runs
        if services is not None and not all(services.alive().values()):
            raise AssertionError(f"an Airflow service died: {services.alive()}\n{services.logs()}")
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {count} finished runs of {dag_id}: {runs}\n"
                         + (services.logs() if services else ""))


def metadata(env: dict[str, str], sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows from the SQLite metadata database of ``env`` (read-only; the scheduler keeps writing)."""
    import sqlite3

    path = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args).fetchall()]
    finally:
        con.close()


def utc(value: str | None) -> datetime | None:
    """A metadata timestamp (stored as naive UTC text by SQLite) as an aware datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               services: AirflowServices | None = None, every: float = 2.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with the services' logs otherwise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if services is not None and not all(services.alive().values()):
            raise AssertionError(f"an Airflow service died while waiting for {what}: {services.alive()}\n"
                                 f"{services.logs()}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n" + (services.logs() if services else ""))


class WebhookSink:
    """A local HTTP endpoint that records the JSON bodies POSTed to it (the alert webhook in tests)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.messages: list[dict[str, Any]] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    sink.messages.append(json.loads(body))
                except ValueError:
                    sink.messages.append({"unparsed": body.decode(errors="replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

