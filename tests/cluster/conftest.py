from tests.cluster.services import postgres, redis_server, s3_server  # noqa: F401 - pytest fixtures
