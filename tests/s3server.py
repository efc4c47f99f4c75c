"""One in-process moto S3 API server on a free loopback port for a test, with the environment that
points boto3 (and the warehouse's S3 layer) at it and the given buckets created; its conditional writes
are atomic, as S3's (``newsline.s3server``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def moto_s3(*buckets: str) -> Iterator[dict[str, str]]:
    """Start the server, set the AWS_* variables for the block (no AWS_PROFILE), create ``buckets``;
    yield the variables; stop the server afterwards."""
    import boto3
    from moto.server import ThreadedMotoServer

    from newsline.s3server import atomic_conditional_writes

    atomic_conditional_writes()  # S3's conditional PUTs are atomic; moto's check-then-write is not
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            mp.delenv("AWS_PROFILE", raising=False)
            client = boto3.client("s3")
            for bucket in buckets:
                client.create_bucket(Bucket=bucket)
            yield env
    finally:
        server.stop()
