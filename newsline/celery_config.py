"""Celery configuration for Newsline's workers: Airflow's own, plus a preload of the heavy libraries.

Point every Airflow process at it (``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=newsline.celery_config.CELERY_CONFIG``).

Airflow runs each task in a process forked from the Celery worker, so whatever the worker imported
before it forked is there for free, and whatever it did not is imported again by every task. Airflow
preloads its own operators and numpy for that reason (``on_celery_import_modules`` in the Celery
provider); a Newsline task also needs pandas, pyarrow and boto3, about 1.7 s of CPU per task on this
project's machine, which is most of what a short task (merge, transform, load, summarize) costs.
``worker_preload`` imports them once in the worker's main process, before its pool forks, and makes
Airflow's task supervisor wake when its task process exits (the slot is free at once).

Only third-party libraries are preloaded, never Newsline's own modules or site profiles: those are
read again by every task, so a changed profile or a deployed change of ``newsline/`` takes effect
without restarting the workers (a changed library version needs a worker restart, as any venv change).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

#: Airflow's default Celery configuration (broker, result backend, acks, prefetch from ``[celery]``),
#: plus the module the worker imports at start-up.
CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG, "imports": ("newsline.worker_preload",)}
