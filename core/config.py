"""The one settings object. The only module that reads environment variables.

Precedence: keyword arguments > environment (``ORGREG_*``) > ``orgreg.toml`` in the state
directory > defaults. Every field is documented in README.md (a test checks it).
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"


def _default_home() -> Path:
    return Path(os.environ.get("ORGREG_HOME") or Path.cwd() / ".orgreg").resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORGREG_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="state directory: database, snapshots, run reports")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite file `orgreg.db` in the state directory")
    registry: Path = Field(SAMPLE_DIR / "registry.csv", description="registry export read by `orgreg nightly` by default")
    activities: Path = Field(SAMPLE_DIR / "activities.csv", description="activities export read by `orgreg nightly` by default")

    auto_merge_threshold: float = Field(0.92, description="pair score at or above which a merge is automatic")
    review_threshold: float = Field(0.70, description="pair score at or above which a pair is suggested for review")
    max_block_size: int = Field(100, description="blocks larger than this are split by a finer key before pairing")
    keep_snapshots: int = Field(5, description="published snapshot versions kept on disk (rollback needs at least 2)")
    keep_runs: int = Field(30, description="run folders (reports, quarantine, Data Docs) and their database rows kept")
    keep_history_days: int = Field(90, description="days of live-state history and request keys kept in the database")
    lease_seconds: int = Field(300, description="how long a serving process's hold on its snapshot lasts without renewal")
    quarantine_max_share: float = Field(0.5, description="reject the run when more than this share of rows is quarantined")
    guard_ids_gone: float = Field(0.05, description="hold a nightly back when more than this share of the live snapshot's source ids is missing")
    guard_units_lost: float = Field(0.05, description="hold a nightly back when it has this share fewer canonical units than the live snapshot")
    guard_activities_unlinked: float = Field(0.05, description="hold a nightly back when more than this share of activities lost the unit they had")
    guard_quarantine_rise: float = Field(0.05, description="hold a nightly back when the share of quarantined registry rows rose by more than this")

    serve_host: str = Field("127.0.0.1", description="address `orgreg serve` binds to")
    serve_port: int = Field(8000, description="port `orgreg serve` binds to")
    serve_access_log: bool = Field(False, description="log every request of `orgreg serve` (costs throughput)")
    suggest_max_limit: int = Field(50, description="largest `limit` accepted by /api/suggest")
    cors_origins: str = Field("", description="origins (comma-separated, e.g. `https://kepuri.example.cn`) whose pages may call the public APIs from the browser (a submission form served from another site); empty: none")
    check_rate_limit: str = Field("60/minute", description="requests per client address to /api/orgs/check and proposals (slowapi syntax, e.g. `10/second`)")
    proposal_auto_accept: bool = Field(False, description="accept a 组织入驻 proposal at once when it is clearly new (verdict `new`) and consistent (known category, valid region, a declared parent that exists and contains the region); the rest wait in the ops queue `/ops/proposals`")
    proposal_poll_seconds: float = Field(1.0, description="how often `orgreg serve` looks for newly accepted proposals (they are suggestible within this plus a query)")
    session_secret: str = Field("", description="secret signing login sessions; empty means one generated and kept in the state directory")
    token: str = Field("", description="API token `orgreg review` signs in with (else `--token`, or `--user` and a password)")
    session_idle_minutes: int = Field(30, description="a login session ends after this many minutes without a request")
    session_absolute_hours: int = Field(12, description="a login session ends this many hours after login, however active")
    cookie_secure: str = Field("auto", description="Secure flag of the session cookie: `auto` (set when the request came over HTTPS, also via X-Forwarded-Proto from a trusted proxy), `true`, `false`")
    login_max_failures_account: int = Field(5, description="failed logins per account within the window before that account must wait")
    login_max_failures_address: int = Field(20, description="failed logins per client address within the window before that address must wait")
    login_window_minutes: int = Field(15, description="window of the login throttling; a throttled login may retry when its oldest failure leaves it")
    password_min_length: int = Field(12, description="shortest password accepted for an account")
    password_min_score: int = Field(3, description="lowest zxcvbn strength score (0–4) accepted; common passwords and patterns score 0–2")

    schedule_cron: str = Field("0 2 * * *", description="cron of the nightly schedule (`orgreg schedule`)")
    schedule_timezone: str = Field("Asia/Shanghai", description="timezone of the nightly schedule")
    dask_address: str = Field("", description="Dask scheduler address for the heavy stages; empty runs in-process")
    task_retries: int = Field(2, description="retries of the I/O tasks of the nightly flow")
    scoring_chunks: int = Field(8, description="shares the candidate pairs are scored in (tasks; Dask workers)")
    normalise_processes: int = Field(2, description="processes the names are normalised in (one process takes minutes at a million); 1: the run's own process only")
    notify_webhook: str = Field("", description="webhook (企业微信/钉钉 group robot) that receives a run's summary when it fails or is held back; empty: none")
    notify_on_success: bool = Field(False, description="also send the summary of a run that published")
    notify_secret: str = Field("", description="钉钉 robot 加签 secret (signs the webhook URL); empty: unsigned")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _default_home() / "orgreg.toml"
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def shrink_limits(self) -> dict[str, float]:
        """The write-audit-publish thresholds by figure (``core.guards.Shrink``)."""
        return {"ids_gone": self.guard_ids_gone, "units_lost": self.guard_units_lost,
                "activities_unlinked": self.guard_activities_unlinked,
                "quarantine_rise": self.guard_quarantine_rise}

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'orgreg.db'}"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def snapshots_dir(self) -> Path:
        return self.home / "snapshots"


def load_settings(**overrides) -> Settings:
    """Settings from the environment and ``orgreg.toml``, with non-None ``overrides`` on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if "home" in given:
        given["home"] = Path(given["home"]).resolve()
    return Settings(**given)
