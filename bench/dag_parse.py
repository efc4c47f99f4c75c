"""Benchmark 4: DAG parse cost — importing each DAG file in a fresh interpreter, minus importing
``airflow.sdk`` (aim: under 50 ms per file).

Each round starts a fresh interpreter that imports ``airflow.sdk``, resolves ``dag`` and ``task``,
then executes the DAG file, timing each phase inside the process (across processes the 3 s import
of Airflow varies by ±100 ms on this machine, which would drown a 20 ms difference). ``airflow.sdk``
resolves its names lazily: a bare ``import airflow.sdk`` does not load ``dag``/``task`` (the task
decorator pulls in the standard provider, ~120 ms), which every DAG file needs, so that cost is
reported separately and not charged to our files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import BenchResult, med

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import sys, time, json, importlib.util
t0 = time.perf_counter()
import airflow.sdk  # noqa
t_sdk = time.perf_counter()
from airflow.sdk import dag, task  # noqa
t_names = time.perf_counter()
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
t_dag = time.perf_counter()
print(json.dumps({"sdk": t_sdk - t0, "names": t_names - t_sdk, "dag": t_dag - t_names}))
"""


def _measure(path: Path, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=env,
                          cwd=str(REPO), check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def many_profiles(folder: Path, n: int = 50) -> Path:
    """A sites folder with ``n`` profiles (copies of the demo profiles under new keys and domains)."""
    import shutil

    src = REPO / "sites"
    shutil.copytree(src / "_presets", folder / "_presets", dirs_exist_ok=True)
    models = sorted(p for p in src.glob("*.yaml"))
    for i in range(n):
        model = models[i % len(models)]
        key = f"site{i:03d}"
        text = model.read_text(encoding="utf-8")
        text = text.replace(f"key: {model.stem}", f"key: {key}").replace("dag_id: japannews_daily\n", "")
        (folder / f"{key}.yaml").write_text(text, encoding="utf-8")
    return folder


def run(rounds: int = 7, profiles: int = 50) -> list[BenchResult]:
    env = dict(os.environ)
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    results = []
    for path in sorted((REPO / "dags").glob("*.py")):
        samples = [_measure(path, env) for _ in range(rounds)]
        dag_ms = med([s["dag"] for s in samples]) * 1000
        results.append(BenchResult(
            name=f"DAG parse: {path.name}, ms over airflow.sdk", ratio=dag_ms, aim="<= 50", met=dag_ms <= 50,
            detail=(f"import airflow.sdk {med([s['sdk'] for s in samples]) * 1000:.0f} ms; resolving dag/task "
                    f"{med([s['names'] for s in samples]) * 1000:.0f} ms (Airflow's, not charged); DAG file "
                    f"{dag_ms:.1f} ms; median of {rounds} fresh interpreters")))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="newsline-sites-") as tmp:
        many = {**env, "NEWSLINE_SITES_DIR": str(many_profiles(Path(tmp), profiles))}
        samples = [_measure(REPO / "dags" / "news_sites.py", many) for _ in range(rounds)]
    dag_ms = med([s["dag"] for s in samples]) * 1000
    results.append(BenchResult(
        name=f"DAG parse: news_sites.py with {profiles} profiles, ms", ratio=dag_ms, aim="<= 1000",
        met=dag_ms <= 1000,
        detail=f"{profiles} site DAGs built from {profiles} YAML profiles in one parse; {dag_ms / profiles:.1f} ms "
               f"per profile; median of {rounds} fresh interpreters"))
    return results
