"""A whole Airflow cluster on one machine, as if on several hosts: ``make cluster-demo``.

PostgreSQL (Airflow metadata and Celery results), Redis (the Celery broker) and an S3 API server
(moto: run folders and the warehouse) are started on loopback ports chosen here; then Airflow 3 with
the CeleryExecutor: ``db migrate``, api-server, scheduler, dag-processor and N ``airflow celery
worker`` processes. Each worker has its own ``AIRFLOW_HOME``, log folder, working directory and
``TMPDIR``, and the tasks exchange only URIs and small dicts (XCom), so no task reads a local path
another task wrote. The test suite (tests/cluster/) drives the same classes.

The servers come from Debian's ``postgresql`` and ``redis-server`` packages (``.ci/run`` installs
them); PostgreSQL refuses to run as root, so as root it runs as ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.config import REPO_ROOT
from newsline.demo import free_port

log = logging.getLogger(__name__)

BIN = Path(sys.executable).parent
BUCKET = "newsline-cluster"
DAG_ID = "japannews_daily"
QUALITY_DAG_ID = "newsline_quality"
SITE = "japannews"


class ServiceUnavailable(RuntimeError):
    """A server binary this machine does not have (install Debian's postgresql / redis-server)."""


#: Where Debian's ``libfaketime`` package puts the preload library (``faketime`` depends on it).
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1")


def faketime_env(offset: str) -> dict[str, str]:
    """Environment that shifts a process's clock (and its children's) by ``offset`` (``-5h``, ``+2d``)
    through Debian's libfaketime (``LD_PRELOAD``): a host whose clock is wrong. The monotonic clock
    moves with it (libfaketime's ``FAKETIME_DONT_FAKE_MONOTONIC=1`` makes Python's sleeps fail with
    EINVAL). Raises ``ServiceUnavailable`` without the library (``.ci/run`` installs ``faketime``)."""
    lib = next((p for p in FAKETIME_LIBS if Path(p).exists()), None)
    if lib is None:
        raise ServiceUnavailable("libfaketime not found (" + ", ".join(FAKETIME_LIBS) + "): install Debian's "
                                 "faketime package")
    return {"LD_PRELOAD": lib, "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "0"}


def find_binary(name: str) -> str | None:
    """``name`` on PATH, else in Debian's versioned PostgreSQL folders (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0, reverse=True)
    return candidates[0] if candidates else None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen | None = None,
             every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process started in its own session, and whatever it started."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class PostgresServer:
    """A throw-away PostgreSQL cluster: ``initdb`` into a fresh folder, ``postgres`` on 127.0.0.1."""

    USER = "newsline"

    def __init__(self, port: int = 0) -> None:
        self.initdb = find_binary("initdb")
        self.postgres = find_binary("postgres")
        if not (self.initdb and self.postgres):
            raise ServiceUnavailable("PostgreSQL server binaries (initdb, postgres) not found on PATH or in "
                                     "/usr/lib/postgresql/*/bin: install Debian's postgresql package")
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.data: Path | None = None
        # PostgreSQL refuses to run as root: then it runs as nobody, in a folder nobody owns.
        self._as = {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}

    def url(self, db: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.USER}@127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 60) -> PostgresServer:
        # A folder of its own under the system temp dir (a pytest tmp dir is root-only, 0700).
        self.data = Path(tempfile.mkdtemp(prefix="newsline-pg-", dir="/tmp" if self._as else None))
        if self._as:
            shutil.chown(self.data, **self._as)
        pgdata = self.data / "data"
        subprocess.run([self.initdb, "-D", str(pgdata), "-U", self.USER, "--auth=trust", "-E", "UTF8",
                        "--no-sync", "--no-instructions"], check=True, capture_output=True, **self._as)
        self._launch(timeout)
        return self

    def _launch(self, timeout: float) -> None:
        assert self.data is not None
        logfile = (self.data / "postgres.log").open("ab")
        self.proc = subprocess.Popen(
            [self.postgres, "-D", str(self.data / "data"), "-p", str(self.port), "-k", str(self.data),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True, **self._as)
        wait_for(self.ready, timeout, f"PostgreSQL on port {self.port}", self.proc)

    def restart(self, down: float = 0.0, timeout: float = 60) -> None:
        """Stop the server ("fast" shutdown: every connection is cut), stay down ``down`` seconds, start it
        again on the same port and data: what clients see when a database host restarts."""
        _stop(self.proc, signal.SIGINT)
        time.sleep(down)
        self._launch(timeout)

    def ready(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname="postgres",
                             connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname="postgres")
        con.autocommit = True
        try:
            con.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def query(self, db: str, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        import psycopg2
        import psycopg2.extras

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname=db)
        try:
            cur = con.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
            cur.execute(sql, args)
            return [dict(r) for r in cur.fetchall()]
        finally:
            con.close()

    def execute(self, db: str, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Run one statement in its own transaction; returns the affected row count."""
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname=db)
        try:
            with con, con.cursor() as cur:
                cur.execute(sql, args)
                return cur.rowcount
        finally:
            con.close()

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # "fast" shutdown
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)


class RedisServer:
    """``redis-server`` on 127.0.0.1, in memory only (no RDB snapshots, no AOF)."""

    def __init__(self, port: int = 0) -> None:
        self.binary = find_binary("redis-server")
        if not self.binary:
            raise ServiceUnavailable("redis-server not found on PATH: install Debian's redis-server package")
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.dir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> RedisServer:
        self.dir = Path(tempfile.mkdtemp(prefix="newsline-redis-"))
        self._launch(timeout)
        return self

    def _launch(self, timeout: float) -> None:
        assert self.dir is not None
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--protected-mode", "yes"],
            stdout=(self.dir / "redis.log").open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.ready, timeout, f"Redis on port {self.port}", self.proc)

    def restart(self, down: float = 0.0, timeout: float = 30) -> None:
        """Stop the server, stay down ``down`` seconds, start it again on the same port. Nothing is
        persisted, so every queued message is gone: what the cluster sees after a broker crash."""
        _stop(self.proc)
        time.sleep(down)
        self._launch(timeout)

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        _stop(self.proc)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """moto's S3 API server in its own process on 127.0.0.1, with one bucket (``newsline.s3server``:
    conditional writes atomic, as S3's)."""

    def __init__(self, port: int = 0, bucket: str = BUCKET) -> None:
        self.port = port or free_port()
        self.bucket = bucket
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}"}

    def start(self, log_path: Path, timeout: float = 60) -> S3Server:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "newsline.s3server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: _port_open(self.port), timeout, f"the S3 server on port {self.port}", self.proc)
        import boto3

        boto3.client("s3", endpoint_url=self.env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket=self.bucket)
        return self

    def stop(self) -> None:
        _stop(self.proc)


@dataclass
class Worker:
    name: str
    home: Path  # its AIRFLOW_HOME: logs, config, its working folder; nothing here is shared
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @property
    def log_dir(self) -> Path:
        return Path(self.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])

    @property
    def workdir(self) -> Path:
        return self.home / "work"


@dataclass
class Cluster:
    """``with Cluster(root, base_url=…) as c:`` runs the whole deployment; ``root`` holds only the
    per-process folders (each worker's own, the control plane's own) and the service logs."""

    root: Path
    base_url: str
    workers: int = 2
    worker_concurrency: int = 2
    pool_slots: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    #: More sites than The Japan News (key -> base URL of its demo site); each gets a pool of ``pool_slots``.
    base_urls: dict[str, str] = field(default_factory=dict)
    #: Environment of one worker only (name -> variables), e.g. another ``TZ`` or ``faketime_env(...)``.
    worker_env: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Start a control-plane process (api-server, scheduler, dag-processor) again when it exits, as a
    #: process manager does in production (systemd ``Restart=always``, a Kubernetes Deployment): the
    #: scheduler exits when it loses its database. Each restart is counted in ``restarts`` and logged
    #: with the exit code in ``service-logs/supervisor.log``.
    supervise: bool = True

    def __post_init__(self) -> None:
        self.postgres = PostgresServer()
        self.redis = RedisServer()
        self.s3 = S3Server()
        self.procs: dict[str, subprocess.Popen] = {}
        self.worker_list: list[Worker] = []
        self.timings: dict[str, float] = {}
        self.restarts: dict[str, int] = {}
        self._commands: dict[str, tuple[list[str], dict[str, str], Path]] = {}
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- environment -------------------------------------------------------------------------------

    @property
    def staging(self) -> str:
        return f"s3://{self.s3.bucket}/runs"

    @property
    def warehouse(self) -> str:
        return f"s3://{self.s3.bucket}/warehouse"

    @property
    def archive(self) -> str:
        return f"s3://{self.s3.bucket}/raw"

    def base_env(self, home: Path) -> dict[str, str]:
        from newsline.demo import airflow_env

        env = airflow_env({SITE: self.base_url, **self.base_urls}, home=home)
        for name in ("NEWSLINE_STAGING", "NEWSLINE_WAREHOUSE", "NEWSLINE_ARCHIVE"):
            env.pop(name, None)
        env.update(self.s3.env)
        env.pop("AWS_PROFILE", None)
        env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", None)  # SQLite's busy timeout; not for PostgreSQL
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url("airflow"),
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url("airflow", driver="postgresql"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            # Airflow's Celery settings plus the worker preload (pandas/pyarrow/boto3, the exit watch)
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "newsline.celery_config.CELERY_CONFIG",
            "AIRFLOW__API_AUTH__JWT_SECRET": "newsline-cluster-secret",
            "AIRFLOW__API__SECRET_KEY": "newsline-cluster-secret",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "NEWSLINE_STAGING": self.staging,
            "NEWSLINE_WAREHOUSE": self.warehouse,
            "NEWSLINE_ARCHIVE": self.archive,
            "NEWSLINE_DOWNLOAD_DELAY": "0",
            "NEWSLINE_CONCURRENCY": "8",
            "NEWSLINE_TASK_RETRY_DELAY": "2",
        })
        env.update(self.extra_env)
        return env

    @property
    def control_env(self) -> dict[str, str]:
        return self.base_env(self.root / "control")

    def airflow(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(BIN / "airflow"), *args], env=env or self.control_env, capture_output=True,
                              text=True, timeout=timeout, cwd=str(self.root / "control"))
        if check and proc.returncode != 0:
            raise RuntimeError(f"`airflow {' '.join(args)}` failed ({proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return proc

    # --- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "control").mkdir(exist_ok=True)
        self.api_port = free_port()
        self.postgres.start()
        self.postgres.create_database("airflow")
        self.redis.start()
        self.s3.start(self.root / "service-logs" / "s3.log")
        self.timings["services_s"] = time.monotonic() - t0
        t1 = time.monotonic()
        self.airflow("db", "migrate")
        self.set_up_pools()
        self.timings["db_migrate_s"] = time.monotonic() - t1
        env = self.control_env
        for name in ("api-server", "scheduler", "dag-processor"):
            self.procs[name] = self._spawn(name, [name], env, self.root / "control")
        for i in range(1, self.workers + 1):
            self.start_worker(f"worker{i}")
        wait_for(lambda: _port_open(self.api_port), 120, "the API server", self.procs["api-server"])
        self.timings["startup_s"] = time.monotonic() - t0
        if self.supervise:
            self._supervisor = threading.Thread(target=self._supervise, name="cluster-supervisor", daemon=True)
            self._supervisor.start()

    CONTROL = ("api-server", "scheduler", "dag-processor")

    def _supervise(self, every: float = 1.0, backoff: float = 2.0) -> None:
        log_path = self.root / "service-logs" / "supervisor.log"
        while not self._stopping.wait(every):
            for name in self.CONTROL:
                proc = self.procs.get(name)
                if proc is None or proc.poll() is None or self._stopping.is_set():
                    continue
                _stop(proc, signal.SIGKILL, timeout=10)  # what it started goes with it
                if self._stopping.wait(backoff):
                    return
                args, env, cwd = self._commands[name]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                with log_path.open("a", encoding="utf-8") as fh:
                    fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {name} exited with {proc.returncode}; "
                             f"restart {self.restarts[name]}\n")
                log.warning("%s exited with %s; starting it again", name, proc.returncode)
                self.procs[name] = self._spawn(name, args, env, cwd)

    @property
    def sites(self) -> list[str]:
        return [SITE, *(k for k in self.base_urls if k != SITE)]

    def set_up_pools(self) -> None:
        """One crawl pool per site, ``pool_slots`` each, in one CLI call."""
        from core.sites import get_site

        pools = {key: {"slots": self.pool_slots, "description": f"Concurrent crawl tasks against {get_site(key).name}",
                       "include_deferred": False} for key in self.sites}
        path = self.root / "control" / "pools.json"
        path.write_text(json.dumps(pools), encoding="utf-8")
        self.airflow("pools", "import", str(path))

    def start_worker(self, name: str) -> Worker:
        home = self.root / name
        env = self.base_env(home)
        (home / "work").mkdir(parents=True, exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        env.update({
            "TMPDIR": str(home / "tmp"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        })
        env.update(self.worker_env.get(name, {}))
        worker = Worker(name, home, env)
        worker.proc = self._spawn(name, ["celery", "worker", "-H", f"{name}@%h", "-c", str(self.worker_concurrency),
                                         "--without-gossip", "--without-mingle"], env, home / "work")
        self.worker_list = [w for w in self.worker_list if w.name != name] + [worker]
        self.procs[name] = worker.proc
        return worker

    def _spawn(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        self._commands[name] = (args, env, cwd)
        logs = self.root / "service-logs"
        logs.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        out = (logs / f"{name}.log").open("ab")
        return subprocess.Popen([str(BIN / "airflow"), *args], env=env, cwd=str(cwd), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def kill_worker(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a worker as a lost host dies: it, its pool, the running tasks and their crawls at once."""
        import psutil

        proc = self.procs[name]
        try:
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.send_signal(sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop_worker(self, name: str, timeout: float = 60) -> None:
        """Stop a worker the polite way (SIGTERM: Celery's warm shutdown lets running tasks finish)."""
        _stop(self.procs[name], timeout=timeout)

    def restart_service(self, name: str, down: float = 0.0) -> None:
        """Restart ``"redis"`` or ``"postgres"`` under the running cluster (same port; Redis comes back
        empty, PostgreSQL with its data), down for ``down`` seconds."""
        services = {"redis": self.redis, "postgres": self.postgres}
        if name not in services:
            raise ValueError(f"unknown service {name!r}; known: {', '.join(services)}")
        services[name].restart(down)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=30)
        for name in list(self.procs)[::-1]:
            _stop(self.procs[name], timeout=30)
        for service in (self.s3, self.redis, self.postgres):
            with contextlib.suppress(Exception):
                service.stop()

    def alive(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self.procs.items()}

    def logs(self, tail: int = 40) -> str:
        out = []
        for path in sorted((self.root / "service-logs").glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {path.name} ---\n" + "\n".join(lines))
        return "\n".join(out)

    # --- runs --------------------------------------------------------------------------------------

    def metadata(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.postgres.query("airflow", sql, args)

    def set_pool_slots(self, pool: str, slots: int) -> None:
        """Resize a pool at once (straight in the metadata database; the CLI takes seconds to start)."""
        if self.postgres.execute("airflow", "update slot_pool set slots = %s where pool = %s", (slots, pool)) != 1:
            raise RuntimeError(f"no pool {pool!r}")

    def unpause(self, dag_id: str = DAG_ID, timeout: float = 180) -> None:
        """Unpause once the DAG processor has stored the DAG (before that it unpauses nothing)."""
        wait_for(lambda: self.metadata("select dag_id from dag where dag_id = %s", (dag_id,)), timeout,
                 f"{dag_id} to be parsed", every=1)
        self.airflow("dags", "unpause", dag_id)

    def runs(self, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        return self.metadata("select run_id, state, logical_date, start_date, end_date from dag_run "
                             "where dag_id = %s order by logical_date", (dag_id,))

    def wait_for_runs(self, count: int, timeout: float, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        def finished() -> list[dict[str, Any]] | None:
            # a supervised control-plane process that exited is being started again: not fatal
            dead = [n for n, ok in self.alive().items() if not ok and not (self.supervise and n in self.CONTROL)]
            if dead:
                raise RuntimeError(f"cluster process(es) died: {dead}\n{self.logs()}")
            runs = self.runs(dag_id)
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if len(done) >= count and len(done) == len(runs) else None

        try:
            return wait_for(finished, timeout, f"{count} finished runs of {dag_id}", every=2)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {self.runs(dag_id)}\n{self.logs()}") from None

    def task_instances(self, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        return self.metadata("select run_id, task_id, map_index, state, try_number, hostname, queue "
                             "from task_instance where dag_id = %s order by run_id, task_id", (dag_id,))

    def worker_task_logs(self) -> dict[str, list[Path]]:
        """Each worker's own task log files (in its own AIRFLOW_HOME)."""
        return {w.name: sorted(p for p in w.log_dir.rglob("*.log") if "dag_id=" in str(p))
                for w in self.worker_list}


def _demo_world() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The demo world on four free consecutive ports (``make demo`` keeps 8765.. for itself)."""
    from demo_site.world import DEMO_SITES
    from newsline.demo import port_in_use, start_demo_world

    for _ in range(20):
        base = free_port()
        if base + len(DEMO_SITES) < 65536 and not any(port_in_use(base + i) for i in range(len(DEMO_SITES))):
            return start_demo_world(base)
    raise RuntimeError("no four free consecutive ports on 127.0.0.1 for the demo world")


def cluster_demo_plan(days: str | None = None, sites: str | None = None) -> list[dict[str, str]]:
    """Every (site, DAG, day) of the demo world the cluster demo runs: each site's own demo days,
    narrowed by ``days`` (``2024-09-04..2024-09-06``) and ``sites`` (``japannews,metrotimes``)."""
    from newsline.demo import demo_plan, parse_days

    plan = demo_plan([s for s in (sites or "").split(",") if s] or None)
    if days:
        keep = {d.isoformat() for d in parse_days(days)}
        plan = [p for p in plan if p["day"] in keep]
    if not plan:
        raise ValueError("nothing to run: no demo site/day matches --sites/--days")
    return plan


#: Where ``make cluster-demo`` keeps the cluster's state and service logs: beside `make demo`'s Airflow
#: state, git-ignored.
DEMO_ROOT = REPO_ROOT / ".airflow" / "cluster"


def run_cluster_demo(days: str | None = None, workers: int = 2, root: Path | None = None,
                     sites: str | None = None) -> int:
    """Start the demo world and the cluster, let the scheduler catch up every demo site's days (each
    site's schedule set to its first..last planned day), print per-site per-day counts, stop."""
    from newsline.demo import per_site_table, sites_dir_with, warehouse_overview

    plan = cluster_demo_plan(days, sites)
    per_site: dict[str, list[str]] = {}
    for p in plan:
        per_site.setdefault(p["site"], []).append(p["day"])
    dag_ids = {p["site"]: p["dag_id"] for p in plan}
    root = root or DEMO_ROOT
    if root.exists():
        shutil.rmtree(root)
    world, urls = _demo_world()
    print(f"[cluster] demo world: {', '.join(f'{k} {u}' for k, u in urls.items())}", flush=True)
    # the days to run are each profile's schedule (start/end/catch-up), as a deployment sets it
    sites_dir = sites_dir_with(root.parent / "cluster-sites", {key: {"schedule": {
        "start_date": min(ds), "end_date": max(ds), "catchup": True}} for key, ds in per_site.items()})
    expected = {key: (date.fromisoformat(max(ds)) - date.fromisoformat(min(ds))).days + 1
                for key, ds in per_site.items()}
    extra = {"NEWSLINE_SITES_DIR": str(sites_dir)}
    ok = False
    try:
        started = time.monotonic()
        with Cluster(root, base_url=urls[SITE], base_urls=urls, workers=workers, extra_env=extra) as cluster:
            print(f"[cluster] PostgreSQL :{cluster.postgres.port}, Redis :{cluster.redis.port}, "
                  f"S3 :{cluster.s3.port}, API :{cluster.api_port}, {workers} Celery workers; "
                  f"up in {cluster.timings['startup_s']:.1f}s", flush=True)
            print(f"[cluster] staging {cluster.staging}  warehouse {cluster.warehouse}", flush=True)
            cluster.unpause(QUALITY_DAG_ID)  # checks and reports each loaded day, from S3
            for key in per_site:
                cluster.unpause(dag_ids[key])
            t0 = time.monotonic()
            runs: list[dict[str, Any]] = []
            for key in per_site:
                done = cluster.wait_for_runs(expected[key], timeout=900, dag_id=dag_ids[key])
                runs += done
                print(f"[cluster] {dag_ids[key]}: {len(done)} runs finished after {time.monotonic() - t0:.1f}s: "
                      + ", ".join(r["state"] for r in done), flush=True)
            quality = cluster.wait_for_runs(1, timeout=300, dag_id=QUALITY_DAG_ID)
            print(f"[cluster] {QUALITY_DAG_ID}: {len(quality)} runs: "
                  + ", ".join(sorted({r['state'] for r in quality}))
                  + f"; reports in {cluster.staging}/reports/", flush=True)
            runs += quality
            per_worker = {name: len(files) for name, files in cluster.worker_task_logs().items()}
            print(f"[cluster] task logs per worker: {json.dumps(per_worker)}", flush=True)
            os.environ.update(cluster.s3.env)
            os.environ.pop("AWS_PROFILE", None)
            print(per_site_table(cluster.staging, plan).replace("[demo]", "[cluster]"), flush=True)
            all_days = sorted({date.fromisoformat(p["day"]) for p in plan})
            print(warehouse_overview(cluster.warehouse, all_days).split("Read it")[0].rstrip()
                  .replace("[demo]", "[cluster]"), flush=True)
            ok = all(r["state"] == "success" for r in runs)
        print(f"[cluster] stopped; {time.monotonic() - started:.1f}s in all; service logs in {root}", flush=True)
    finally:
        world.terminate()
        world.wait(timeout=10)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m newsline.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--days", default=None,
                        help="only these demo days, e.g. 2024-09-04..2024-09-06 (default: every site's own)")
    parser.add_argument("--sites", default=None, help="only these demo sites, e.g. japannews,metrotimes")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        return run_cluster_demo(args.days, args.workers, sites=args.sites)
    except (ServiceUnavailable, ValueError) as exc:
        print(f"newsline: error: {exc}", file=sys.stderr)
        return 2
    except (TimeoutError, RuntimeError) as exc:  # a run that never finished, a cluster process that died
        detail, _, _ = str(exc).partition("\n")
        print(f"newsline: error: {detail[:500]} (service logs in {DEMO_ROOT})",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
