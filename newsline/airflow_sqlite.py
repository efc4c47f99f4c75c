"""Connection arguments for Airflow's SQLite metadata database (``make demo`` and the tests).

SQLite allows one writer at a time; the CLI, the scheduler and the task processes all write. Python's
default busy timeout (5 s) turns a busy moment on a loaded machine into ``database is locked``; waiting
up to a minute instead serialises the writers. Airflow imports this through
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=newsline.airflow_sqlite.CONNECT_ARGS`` (set by
``newsline.demo.airflow_env`` for SQLite only). Production uses PostgreSQL and does not need it.
"""

CONNECT_ARGS = {"timeout": 60}
