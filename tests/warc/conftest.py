"""A CC-NEWS-like collection of the demo site, on disk, over HTTP (Range support) and on S3 (moto)."""

from __future__ import annotations

import pytest

from demo_site.ccnews import CCNewsCollection, CollectionServer, upload_to_s3
from tests.s3server import moto_s3

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

    from crawler.warc_source import reset_s3_client

    with moto_s3(BUCKET):
        reset_s3_client()
        upload_to_s3(collection_dir, BUCKET, "archive", boto3.client("s3"))
        yield f"s3://{BUCKET}/archive/"
    reset_s3_client()


@pytest.fixture
def overrides(tmp_path) -> dict:
    return {"warehouse": str(tmp_path / "warehouse"), "staging": str(tmp_path / "runs")}
