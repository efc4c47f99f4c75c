"""``newsline demo``: the whole pipeline on the embedded default, through real Airflow.

Starts the demo world (every demo site on its own 127.0.0.1 port), prepares Airflow (SQLite metadata
under ``.airflow/``, one pool per site), runs every site's daily DAG for each of its demo days with
``dag.test`` inside one Airflow process (Airflow's start-up is paid once, not once per site-day) and
prints per-site, per-day counts and what landed.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from core.config import DEMO_PORT, REPO_ROOT, base_url_env, load_settings
from newsline.pipeline import latest_summary

log = logging.getLogger(__name__)



def parse_days(spec: str) -> list[date]:
    """``2024-09-04..2024-09-08`` or ``2024-09-04,2024-09-06``."""
    if ".." in spec:
        first, last = (date.fromisoformat(p) for p in spec.split("..", 1))
        if last < first:
            raise ValueError(f"empty day range {spec!r}")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [date.fromisoformat(p) for p in spec.split(",") if p]


#: ``PYTHONWARNINGS`` entry that hides Airflow's "Could not import graphviz" warning (see ``airflow_env``).
GRAPHVIZ_WARNING_FILTER = "ignore:Could not import graphviz:UserWarning"


def airflow_env(base_urls: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """Environment for the project's own Airflow: metadata in SQLite under .airflow/, our dags/ folder,
    and each site pointed at its ``base_urls`` entry (``NEWSLINE_BASE_URL_<KEY>``)."""
    home = home or REPO_ROOT / ".airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        # registers newsline.airflow_timetable (profiles with a schedule.end_date)
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "newsline" / "airflow_plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                                                       f"sqlite:///{home / 'airflow.db'}"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")])),
    })
    # Airflow's CLI warns on every command that the optional graphviz package is missing (it only renders
    # `airflow dags show` images) and logs the warning to stdout, ahead of `-o json` output: silence that one
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), GRAPHVIZ_WARNING_FILTER]))
    if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
        env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", "newsline.airflow_sqlite.CONNECT_ARGS")
    for key, url in (base_urls or {}).items():
        env[base_url_env(key)] = url
    return env


def airflow(*args: str, env: dict[str, str], log_path: Path | None = None, check: bool = True) -> int:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    if log_path is None:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as fh:
            proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True)
        out = log_path.read_text(encoding="utf-8", errors="replace")
    if check and proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-30:])
        raise RuntimeError(f"`airflow {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.returncode


def prepare_airflow(env: dict[str, str], sites: list[Any]) -> None:
    """Metadata database and one pool per site (its politeness: crawls of the site at once)."""
    airflow("db", "migrate", env=env)
    for site in sites:
        airflow("pools", "set", site.key, str(site.politeness.pool_slots),
                f"Concurrent crawl tasks against {site.name}", env=env)


def logical_date_for(day: date, tz: str = "Asia/Tokyo") -> str:
    """The logical date that makes a manual run cover local day ``day`` of ``tz``: its local
    midnight (``newsline.dagsupport.covered_day``)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).isoformat()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _wait_until_serving(proc: subprocess.Popen[bytes], urls: dict[str, str], timeout: float = 60) -> None:
    """Until every ``urls`` root answers robots.txt, or raise (and stop ``proc``) with why."""
    pending = dict(urls)
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"demo site exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        for key, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url + "robots.txt", timeout=2) as resp:
                    if resp.status == 200:
                        pending.pop(key)
            except OSError:
                pass
        if pending:
            time.sleep(0.2)
    if pending or proc.poll() is not None:
        proc.terminate()
        raise RuntimeError(f"demo site(s) did not answer within {timeout:.0f} s: {', '.join(pending) or 'exited'}")


def _start_demo(args: list[str], urls: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m demo_site ARGS``, refusing ports already taken (an earlier demo, another program), so
    the demo never crawls a server it did not start; returns once every site answers."""
    busy = [u for u in urls.values() if port_in_use(int(u.rsplit(":", 1)[1].strip("/")))]
    if busy:
        raise RuntimeError(f"demo site port(s) already in use: {', '.join(busy)}; stop what listens there "
                           "(an earlier demo?) or pass --port-base")
    proc = subprocess.Popen([sys.executable, "-m", "demo_site", *args], cwd=str(REPO_ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_until_serving(proc, urls)
    return proc


def start_demo_world(port_base: int, extra: list[str] | None = None) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``python -m demo_site --all`` on ``port_base`` + offsets; returns the process and key → base URL."""
    from demo_site.world import DEMO_SITES

    urls = {key: f"http://127.0.0.1:{port_base + i}/" for i, key in enumerate(DEMO_SITES)}
    return _start_demo(["--all", "--port-base", str(port_base), *(extra or [])], urls), urls


def start_demo_site(port: int, extra: list[str] | None = None) -> subprocess.Popen[bytes]:
    """The Japan News demo site alone (tests and the cluster demo that need one site)."""
    return _start_demo(["--port", str(port), *(extra or [])], {"japannews": f"http://127.0.0.1:{port}/"})


def demo_plan(sites: list[str] | None = None) -> list[dict[str, str]]:
    """Every (site, DAG, day, logical date) of the demo world, each site's own demo days."""
    from core.sites import get_site
    from demo_site.world import DEMO_SITES

    plan = []
    for key, entry in DEMO_SITES.items():
        if sites and key not in sites:
            continue
        profile = get_site(key)
        for day in entry.days:
            plan.append({"site": key, "dag_id": profile.dag, "day": day.isoformat(),
                         "logical_date": logical_date_for(day, profile.timezone)})
    return plan


def progress_line(result: dict[str, Any], summary: dict[str, Any] | None) -> str:
    """The line ``make demo`` prints as a site-day finishes: site, day, articles stored, status, time.

    ``articles`` counts the day's stored articles (new + updated + unchanged); the status is the run
    summary's (``ok`` / ``failed``, with its anomalies), else the Airflow run state."""
    summary = summary or {}
    articles = sum(int(summary.get(k, 0)) for k in ("articles_new", "articles_updated", "articles_unchanged"))
    status = summary.get("status") or result["state"]
    if result["state"] != "success" and status == "ok":
        status = result["state"]
    line = (f"[demo] {result['site']:<13} {result['day']}  {articles:>4} articles  {status}"
            f"  ({result['seconds']:.1f}s)")
    if summary.get("anomalies"):
        line += "  " + "; ".join(str(a) for a in summary["anomalies"])[:200]
    return line


def _result_line(line: str) -> dict[str, Any] | None:
    """A result line of ``newsline.demo_runner`` (JSON with site, day, state), else None."""
    import json

    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and {"site", "day", "state"} <= value.keys() else None


def run_plan_in_airflow(plan: list[dict[str, str]], env: dict[str, str], log_path: Path) -> list[dict[str, Any]]:
    """Run every planned DAG run through Airflow's ``dag.test`` in ONE Python process (Airflow starts
    once, not once per site-day); returns each run's final state. Prints ``progress_line`` for each
    site-day as it finishes (Airflow's own log goes to ``log_path``)."""
    import json

    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "newsline.demo_runner", json.dumps(plan)]
    with log_path.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=fh, text=True, cwd=str(REPO_ROOT))
        results = []
        assert proc.stdout is not None
        for line in proc.stdout:  # Airflow logs to stdout too: all but the runner's result lines go to the log
            result = _result_line(line)
            if result is None:
                fh.write(line)
                fh.flush()
                continue
            results.append(result)
            summary = latest_summary(load_settings().staging, result["site"], date.fromisoformat(result["day"]))
            print(progress_line(result, summary), flush=True)
        proc.wait()
    return results


def run_demo(days: str | None = None, port: int = 0, sites: str | None = None, home: Path | None = None) -> int:
    """``make demo``: the demo world, every site's DAG for its demo days, per-site per-day counts.

    The first line says where Airflow's log goes; then one line per site-day as it finishes.
    ``home``: the Airflow home (default ``.airflow/`` of the repository)."""
    settings = load_settings()
    wanted = [s for s in (sites or "").split(",") if s] or None
    plan = demo_plan(wanted)
    if days:
        keep = {d.isoformat() for d in parse_days(days)}
        plan = [p for p in plan if p["day"] in keep]
    if not plan:
        raise ValueError("nothing to run: no demo site/day matches --sites/--days")
    port_base = port or DEMO_PORT  # fixed ports keep canonical URLs, and so the warehouse, identical across runs
    home = home or REPO_ROOT / ".airflow"
    log_path = home / "demo-logs" / "demo-runs.log"
    print(f"[demo] Airflow's log: {log_path} (tail -f it for details); one line per site-day follows as it "
          f"finishes ({len(plan)} site-days)", flush=True)
    print(f"[demo] starting the demo sites on 127.0.0.1:{port_base}..{port_base + 3}", flush=True)
    started = time.time()
    world, urls = start_demo_world(port_base)
    try:
        env = airflow_env(urls, home=home)
        env.setdefault("NEWSLINE_DOWNLOAD_DELAY", "0")
        env.setdefault("NEWSLINE_CONCURRENCY", "8")
        from core.sites import get_site

        print(f"[demo] preparing Airflow metadata in {env['AIRFLOW_HOME']}", flush=True)
        prepare_airflow(env, [get_site(k) for k in sorted({p["site"] for p in plan})])
        print(f"[demo] {len(plan)} DAG runs through Airflow (dag.test, one process)", flush=True)
        results = run_plan_in_airflow(plan, env, log_path)
    finally:
        world.terminate()
        world.wait(timeout=10)
    failed = [r for r in results if r["state"] != "success"]
    print(per_site_table(settings.staging, plan))
    print(f"[demo] {len(results)} runs in {time.time() - started:.0f}s")
    if failed or len(results) != len(plan):
        print(f"[demo] {len(failed) or len(plan) - len(results)} run(s) failed; see {log_path}", flush=True)
        print("\n".join(log_path.read_text(errors="replace").splitlines()[-40:]))
        return 1
    print(warehouse_overview(settings.warehouse, sorted({date.fromisoformat(p["day"]) for p in plan})))
    return 0


def per_site_table(staging: str, plan: list[dict[str, str]]) -> str:
    lines = ["[demo] site          day         status  new upd unch quar"]
    for p in plan:
        summary = latest_summary(staging, p["site"], date.fromisoformat(p["day"])) or {}
        lines.append(f"[demo] {p['site']:<13} {p['day']}  {summary.get('status', 'none'):<6} "
                     f"{summary.get('articles_new', 0):>3} {summary.get('articles_updated', 0):>3} "
                     f"{summary.get('articles_unchanged', 0):>4} {summary.get('articles_quarantined', 0):>4}")
    return "\n".join(lines)


def warehouse_overview(root: str, days: list[date]) -> str:
    from warehouse.reader import read_articles

    frame = read_articles(root, days=days)
    lines = [f"[demo] warehouse: {root}/articles  ({len(frame)} articles for {days[0]}..{days[-1]})"]
    if len(frame):
        counts = frame.groupby(["date", "section"]).size()
        for day, per in counts.groupby(level=0):
            parts = ", ".join(f"{sec}={n}" for (_, sec), n in per.items())
            lines.append(f"  {day}: {int(per.sum())} articles  ({parts})")
    lines += read_it_lines(root)
    return "\n".join(lines)


def read_it_lines(root: str) -> list[str]:
    """The commands ``make demo`` prints for reading the warehouse; each gives a typed ``date``
    (tests/analyst/test_examples.py runs every one)."""
    return [
        "Read it (date is a real date in each):",
        f"  .venv/bin/python -c \"import newsline; df = newsline.read_articles('{root}', start='2024-09-06'); "
        "print(df.groupby(['date', 'section']).size())\"",
        "  .venv/bin/python -c \"import pandas as pd, pyarrow as pa, pyarrow.dataset as ds; "
        "part = ds.partitioning(pa.schema([('date', pa.date32()), ('section', pa.string())]), flavor='hive'); "
        f"df = pd.read_parquet('{root}/articles', partitioning=part); print(df[['date', 'section', 'title']].head())\"",
        f"  .venv/bin/python -c \"import duckdb; print(duckdb.sql(\\\"select date, section, count(*) n from "
        f"read_parquet('{root}/articles/**/*.parquet', hive_partitioning=true, "
        "hive_types={'date': 'DATE', 'section': 'VARCHAR'}) group by all order by all\\\"))\"",
        f"  .venv/bin/newsline query --warehouse {root} \"select date, section, count(*) from articles group by all order by all\"",
        f"  .venv/bin/newsline query --export-db --warehouse {root}   "
        f"# then: duckdb {root}/_duckdb/newsline.duckdb (views articles, article_revisions, quarantine)",
    ]


def sites_dir_with(dest: Path, changes: dict[str, dict]) -> Path:
    """A copy of the repository's sites/ folder with some profiles changed (``{key: {field: value}}``,
    merged at the top level): how a deployment sets a site's schedule, in the profile, not in the
    environment. Point ``NEWSLINE_SITES_DIR`` at the result."""
    import shutil

    import yaml

    from core.sites import sites_dir

    shutil.copytree(sites_dir(), dest, dirs_exist_ok=True)
    for key, fields in changes.items():
        path = dest / f"{key}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, value in fields.items():
            data[name] = {**data.get(name, {}), **value} if isinstance(value, dict) else value
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return dest
