"""Imported once by each Celery worker at start-up (``newsline.celery_config``): the third-party
libraries every Newsline task would otherwise import again in its own forked process.

Only imports, nothing that starts a thread, opens a connection or reads a profile: the worker forks
after this, and a forked child must not inherit a running thread pool or a half-used socket.
"""

from __future__ import annotations

import gc

import boto3  # noqa: F401  (S3 staging and warehouse)
import botocore.client  # noqa: F401
import lxml.html  # noqa: F401  (profiles' selectors)
import pandas  # noqa: F401  (transforms, load, summaries)
import parsel  # noqa: F401
import pyarrow  # noqa: F401
import pyarrow.parquet  # noqa: F401
import yaml  # noqa: F401  (site profiles)

# Airflow's own preload freezes the objects it created (the forked pool then shares those pages
# instead of copying them when the collector touches them); do the same for ours. The worker
# unfreezes once ready (Airflow's ``on_celery_worker_ready``).
gc.freeze()
