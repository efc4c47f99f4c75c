"""Imported once by each Celery worker at start-up (``newsline.celery_config``): the third-party
libraries every Newsline task would otherwise import again in its own forked process, the S3 layer's
client models (``warehouse.s3.warm_client_models``), and a wake-up for Airflow's task supervisor when
its task process exits (``watch_task_exit``).

Nothing here starts a thread, opens a connection or reads a profile: the worker forks after this,
and a forked child must not inherit a running thread pool or a half-used socket.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import weakref
from typing import Any

import boto3  # noqa: F401  (S3 staging and warehouse)
import botocore.client  # noqa: F401
import lxml.html  # noqa: F401  (profiles' selectors)
import pandas  # noqa: F401  (transforms, load, summaries)
import parsel  # noqa: F401
import pyarrow  # noqa: F401
import pyarrow.parquet  # noqa: F401
import s3fs  # noqa: F401  (every S3 staging/warehouse call: aiobotocore, aiohttp; ~0.1 s a task)
import yaml  # noqa: F401  (site profiles)

from warehouse.s3 import warm_client_models


class _ProcessHandle:
    """A pidfd (readable once its process has exited) as a selector file object."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def watch_task_exit() -> bool:
    """Make Airflow's task supervisor notice its task process's exit at once; True if installed.

    The supervisor (``airflow.sdk.execution_time.supervisor``) learns of the exit only by polling
    ``waitpid`` after each wake-up of its ``select``. The task closes its sockets a moment before the
    kernel has reaped it; when the supervisor loses that race (often, on a busy machine) its select has
    nothing left to wait on and it sleeps a whole ``[workers] min_heartbeat_interval`` with the worker
    slot still taken. Measured on the cluster bench: 9 of 100 tasks held their slot ~1 s longer (2
    workers on 2 cores). Registering a pidfd of the task process in the same selector wakes it when
    the process exits. Linux 5.3+ (``os.pidfd_open``); elsewhere, or on an Airflow without this
    method, nothing changes.
    """
    try:
        from airflow.sdk.execution_time.supervisor import WatchedSubprocess
    except ImportError:
        return False
    original = getattr(WatchedSubprocess, "_register_pipe_readers", None)
    if not hasattr(os, "pidfd_open") or original is None:
        return False
    if getattr(original, "newsline_exit_watch", False):
        return True

    def register_pipe_readers(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            handle = _ProcessHandle(os.pidfd_open(self.pid))
        except OSError:
            return
        weakref.finalize(self, handle.close)  # if the exit was seen first by the usual poll

        def exited(_: Any) -> bool:
            return False  # one event: nothing more to read

        def forget(obj: Any) -> None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(obj)

        self.selector.register(handle, selectors.EVENT_READ, (exited, forget))

    register_pipe_readers.newsline_exit_watch = True  # type: ignore[attr-defined]
    WatchedSubprocess._register_pipe_readers = register_pipe_readers
    return True


watch_task_exit()
warm_client_models()  # the S3 layer's botocore models, parsed once here rather than in every task

# Airflow's own preload freezes the objects it created (the forked pool then shares those pages
# instead of copying them when the collector touches them); do the same for ours. The worker
# unfreezes once ready (Airflow's ``on_celery_worker_ready``).
gc.freeze()
