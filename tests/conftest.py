import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "data" / "dev"
SAMPLE = ROOT / "data" / "sample"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files (tests/golden/) from the current code instead of comparing")
    parser.addoption("--run-install", action="store_true",
                     help="also run the clean-venv install test (minutes; .ci/run passes it)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-install"):
        return
    skip = pytest.mark.skip(reason="installs the package into a new venv: run with --run-install (as .ci/run does)")
    for item in items:
        if "install" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def update_golden(request) -> bool:
    """Rewrite golden files instead of comparing (``pytest --update-golden`` or ORGREG_UPDATE_GOLDEN=1)."""
    return request.config.getoption("--update-golden") or os.environ.get("ORGREG_UPDATE_GOLDEN") == "1"


def registry(rows: list[dict]) -> pd.DataFrame:
    """A raw registry frame (all strings) from a few dicts; missing columns are empty."""
    cols = ["org_id", "name", "category", "region_code", "region", "parent_id", "certified", "created_at",
            "updated_at"]
    f = pd.DataFrame([{c: str(r.get(c, "")) for c in cols} for r in rows])
    f["_row"] = range(1, len(f) + 1)
    return f


@pytest.fixture(scope="session")
def regions():
    from core.regions import default_regions

    return default_regions()


@pytest.fixture
def prepared(regions):
    """Turn registry dict rows into prepared records, as the nightly run does."""
    from core.records import prepare_registry

    def make(rows):
        return prepare_registry(registry(rows), regions)

    return make


@pytest.fixture(scope="session")
def sample_raw():
    """The bundled sample registry as read, all columns text (the incremental tests edit it)."""
    from core.sources import read_table

    return read_table(SAMPLE / "registry.csv", "registry").frame.drop(columns=["_row"]).astype(object)


@pytest.fixture
def robot():
    """A receiver on a free port: ``received`` holds (path with query, JSON body); ``answer`` is what it says."""
    state = {"received": [], "answer": {"errcode": 0, "errmsg": "ok"}}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["received"].append((self.path, json.loads(body)))
            data = json.dumps(state["answer"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=K"
    yield state
    server.shutdown()


# PostgreSQL for the store, decision and race tests: .ci/run installs and starts Debian's server and sets
# ORGREG_TEST_POSTGRES_URL (and ORGREG_TEST_REQUIRE_POSTGRES=1: there a missing server is a failure)
POSTGRES_URL = os.environ.get("ORGREG_TEST_POSTGRES_URL", "postgresql+psycopg://orgreg:orgreg@127.0.0.1:5432/postgres")


def _postgres_admin():
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as e:  # no server reachable here
        engine.dispose()
        if os.environ.get("ORGREG_TEST_REQUIRE_POSTGRES") == "1":
            raise RuntimeError(f"PostgreSQL is required here but not reachable at {POSTGRES_URL}: {e}")
        return None
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: SQLite in tmp_path, or a new PostgreSQL database (skipped without a server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'orgreg.db'}"
        return
    import uuid

    import sqlalchemy as sa

    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_URL}")
    name = f"orgreg_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
