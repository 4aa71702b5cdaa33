import shutil
import tempfile
from pathlib import Path

import pytest

from flows.environment import configure_prefect
from tests.conftest import SAMPLE

configure_prefect(Path(tempfile.mkdtemp(prefix="orgreg-prefect-")))


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def run(home, **kw):
    """The nightly flow on the bundled sample (or the given ``registry``/``activities``) in ``home``."""
    from flows.nightly import nightly

    return nightly(registry=str(kw.get("registry", SAMPLE / "registry.csv")),
                   activities=str(kw.get("activities", SAMPLE / "activities.csv")), home=str(home))


@pytest.fixture(scope="session")
def first_run(tmp_path_factory):
    """The sample's first nightly run, once for the whole session: (its home, the flow's summary).
    Never change this home (tests that run again on it take a copy: ``home``)."""
    home = tmp_path_factory.mktemp("home")
    return home, run(home)


@pytest.fixture
def home(first_run, tmp_path):
    """A copy of the published sample home, this test's to change."""
    copy = tmp_path / "home"
    shutil.copytree(first_run[0], copy, ignore=shutil.ignore_patterns("prefect"))
    return copy
