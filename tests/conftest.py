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
