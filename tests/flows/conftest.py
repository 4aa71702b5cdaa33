import tempfile
from pathlib import Path

import pytest

from flows.environment import configure_prefect

configure_prefect(Path(tempfile.mkdtemp(prefix="orgreg-prefect-")))


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
