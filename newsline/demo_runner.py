"""``python -m newsline.demo_runner PLAN_JSON``: run DAG runs through Airflow's ``dag.test`` in one process.

``PLAN_JSON`` is a list of ``{"dag_id", "day", "logical_date", "site"}``; each run prints one JSON line
``{**entry, "state", "seconds"}`` on stdout as soon as it finishes (Airflow's own log also reaches
stdout and stderr; ``newsline.demo.run_plan_in_airflow`` sends every other line to the log file and
prints one progress line per result). Used by ``newsline demo`` so Airflow starts once for all site-days.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    plan = json.loads(args[0])
    from airflow.utils.cli import get_bagged_dag

    dags: dict[str, object] = {}
    failed = 0
    for entry in plan:
        started = time.time()
        dag_id = entry["dag_id"]
        try:
            dag = dags.get(dag_id) or get_bagged_dag(None, dag_id)
            dags[dag_id] = dag
            run = dag.test(logical_date=datetime.fromisoformat(entry["logical_date"]))  # type: ignore[attr-defined]
            state = str(getattr(run, "state", "unknown")).rsplit(".", 1)[-1].lower()
        except Exception as exc:  # noqa: BLE001 - report the run as failed and go on with the others
            print(f"demo_runner: {dag_id} {entry['day']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            state = "failed"
        failed += state != "success"
        print(json.dumps({**entry, "state": state, "seconds": time.time() - started}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
