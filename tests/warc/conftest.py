"""A CC-NEWS-like collection of the demo site, on disk, over HTTP (Range support) and on S3 (moto)."""

from __future__ import annotations

import pytest

from demo_site.ccnews import CCNewsCollection, CollectionServer, upload_to_s3

BUCKET = "ccnews-test"


@pytest.fixture(scope="session")
def collection() -> CCNewsCollection:
    return CCNewsCollection()


@pytest.fixture(scope="session")
def collection_dir(collection, tmp_path_factory):
    root = tmp_path_factory.mktemp("ccnews")
    collection.write(root)
    return root


@pytest.fixture
def http_collection(collection_dir):
    with CollectionServer(collection_dir) as server:
        yield server


@pytest.fixture(scope="module")
def s3_collection(collection_dir):
    import boto3
    from moto.server import ThreadedMotoServer

    from crawler.warc_source import reset_s3_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        reset_s3_client()
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        upload_to_s3(collection_dir, BUCKET, "archive", client)
        yield f"s3://{BUCKET}/archive/"
    reset_s3_client()
    server.stop()


@pytest.fixture
def overrides(tmp_path) -> dict:
    return {"warehouse": str(tmp_path / "warehouse"), "staging": str(tmp_path / "runs")}
