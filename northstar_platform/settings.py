"""Typed settings read from `NORTHSTAR_*` environment variables (DESIGN §3).

Settings are read once per call of `get_settings()`, never at import, so tests can set
variables with `monkeypatch.setenv`. Every problem names the variable and what was expected,
and a `NORTHSTAR_*` variable that nobody reads is an error too: a typo must not silently fall
back to a default.
"""

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from northstar_platform.errors import SettingsError
from northstar_platform.lib.baselines import parse_overrides
from northstar_platform.lib.retention import RetentionPolicy

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: embedded state defaults to `<repo>/.northstar`."""

WAREHOUSES = ("duckdb", "snowflake")
DBT_TARGETS = {"duckdb": ("duckdb",), "snowflake": ("snowflake", "snowflake_emulator")}
"""The dbt targets (dbt/profiles.yml) each warehouse can be built with."""

SNOWFLAKE_VARIABLES = {
    "NORTHSTAR_SNOWFLAKE_ACCOUNT": "account identifier, e.g. xy12345.eu-west-1",
    "NORTHSTAR_SNOWFLAKE_USER": "login name of the pipeline user",
    "NORTHSTAR_SNOWFLAKE_PASSWORD": "password (or use NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH)",
    "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH": "path to a PEM private key for key-pair auth",
    "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "passphrase of an encrypted private key",
    "NORTHSTAR_SNOWFLAKE_ROLE": "role, default NORTHSTAR_PIPELINE",
    "NORTHSTAR_SNOWFLAKE_WAREHOUSE": "virtual warehouse, default NORTHSTAR_WH",
    "NORTHSTAR_SNOWFLAKE_DATABASE": "database, default NORTHSTAR",
    "NORTHSTAR_SNOWFLAKE_HOST": "host override (only for emulators)",
    "NORTHSTAR_SNOWFLAKE_PORT": "port override (only for emulators)",
    "NORTHSTAR_SNOWFLAKE_PROTOCOL": "https (default) or http (only for emulators)",
    "NORTHSTAR_SNOWFLAKE_LOGIN_TIMEOUT_S": "seconds a Snowflake login may take (30)",
    "NORTHSTAR_SNOWFLAKE_NETWORK_TIMEOUT_S": "seconds a Snowflake request may take (300)",
}

DSR_VARIABLES = {
    "NORTHSTAR_DSR_SALT": "salt of the sha256 that stands for a data subject in logs and run "
    "metadata (a secret; default: a random salt kept in $NORTHSTAR_HOME/secrets/dsr_salt)",
    "NORTHSTAR_DSR_CATALOG": "the PII catalog file (default: the repo's "
    "northstar_platform/pii_catalog.json)",
    "NORTHSTAR_DSR_DRIFT_MAX_COLUMNS": "drifted catalog columns tolerated before discovery "
    "halts (0)",
    "NORTHSTAR_DSR_SLA_DAYS": "days a data-subject request may take to answer (30)",
    "NORTHSTAR_DSR_SLA_WARN_DAYS": "days before the deadline an open request alerts (7)",
    "NORTHSTAR_DSR_BATCH_SIZE": "most identifiers per lookup statement (500)",
    "NORTHSTAR_DSR_STATEMENT_TIMEOUT_S": "seconds one DSR lookup may run on PostgreSQL (30)",
    "NORTHSTAR_DSR_RETRIES": "retries of a failed DSR lookup after the first attempt (2)",
    "NORTHSTAR_DSR_BACKOFF_S": "first retry wait in seconds, doubled on every retry (0.5)",
    "NORTHSTAR_DSR_CIRCUIT_FAILURES": "consecutive failures that open a source's circuit (3)",
    "NORTHSTAR_DSR_CIRCUIT_COOLDOWN_S": "seconds an open circuit waits before one trial (60)",
}

ALERT_SINK_VARIABLES = {
    "NORTHSTAR_SLACK_WEBHOOK_URL": "Slack incoming webhook URL for alerts (a secret; unset = "
    "no Slack sink)",
    "NORTHSTAR_SMTP_HOST": "SMTP server for alert mail (unset = no email sink)",
    "NORTHSTAR_SMTP_PORT": "SMTP port (25)",
    "NORTHSTAR_SMTP_USER": "SMTP login (optional; needs NORTHSTAR_SMTP_PASSWORD)",
    "NORTHSTAR_SMTP_PASSWORD": "SMTP password (a secret)",
    "NORTHSTAR_SMTP_STARTTLS": "true: upgrade the SMTP connection with STARTTLS (false)",
    "NORTHSTAR_ALERT_EMAIL_FROM": "sender of alert mail (northstar-alerts@localhost)",
    "NORTHSTAR_ALERT_EMAIL_TO": "comma-separated recipients of alert mail",
    "NORTHSTAR_ALERT_SINK_RETRIES": "retries of a failed Slack/email delivery after the first "
    "attempt, with exponential backoff (2)",
    "NORTHSTAR_ALERT_SINK_TIMEOUT_S": "seconds one Slack/email delivery attempt may take (5)",
}

KNOWN_VARIABLES = {
    "NORTHSTAR_HOME": "where embedded state lives (default <repo>/.northstar)",
    "NORTHSTAR_WAREHOUSE": "duckdb or snowflake",
    "NORTHSTAR_DUCKDB_PATH": "the embedded warehouse file",
    "NORTHSTAR_SOURCE_DSN": "PostgreSQL DSN of the OLTP source",
    "NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S": "seconds to wait for a source connection (default 10)",
    "NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S": "seconds a source statement may run (default 300)",
    "NORTHSTAR_LANDING_URL": "a folder, or s3://bucket/prefix",
    "NORTHSTAR_S3_ENDPOINT_URL": "an S3-compatible endpoint (tests: moto)",
    "NORTHSTAR_DBT_TARGET": "dbt target; defaults to NORTHSTAR_WAREHOUSE (snowflake_emulator: "
    "fakesnow's server mode, for tests)",
    "NORTHSTAR_DAGSTER_YAML": "the Dagster instance config copied into DAGSTER_HOME (default: "
    "the repo's dagster.yaml, SQLite; deploy/dagster.production.yaml: PostgreSQL)",
    "NORTHSTAR_QUARANTINE_MAX_RATE": "share of a partition's rows that may be quarantined (0.05)",
    "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE": "share of a landed partition's rows that may be "
    "quarantined (0.01)",
    "NORTHSTAR_LANDING_VOLUME_TOLERANCE": "allowed deviation of a landed day's volume from the "
    "median of the last 14 days (0.5)",
    "NORTHSTAR_GIT_COMMIT": "the code version recorded in the run log and corrections when "
    "the code runs without .git (an image build sets it)",
    "NORTHSTAR_BASELINE_OVERRIDES": "per-asset spike-check settings, e.g. "
    "'raw/raw_wms_shipments:tolerance=0.3,window=7;staging/stg_orders:noise_floor=20'",
    "NORTHSTAR_DUPLICATE_RATE_LIMIT": "marts gate: open duplicate orders / a date's live orders "
    "must stay below this (0.001)",
    "NORTHSTAR_REFERENTIAL_VIOLATION_LIMIT": "marts gate: orphan payments and shipments plus "
    "orders of unknown customers / a date's live orders, at most (0.01)",
    "NORTHSTAR_REVENUE_VARIANCE_LIMIT": "marts gate: |marts - finance| / finance per currency, "
    "at most (0.0005)",
    "NORTHSTAR_MISMATCH_SPIKE_TOLERANCE": "marts gate: open mismatches may exceed the trailing "
    "median by this share (0.2)",
    "NORTHSTAR_MISSING_SHIPMENT_SLA_HOURS": "hours after its last update a shipped order with no "
    "warehouse row becomes MISSING_SHIPMENT (24)",
    "NORTHSTAR_DAGSTER_UI_URL": "base URL of the Dagster UI that alerts link runs to "
    "(http://127.0.0.1:3000)",
    **ALERT_SINK_VARIABLES,
    **DSR_VARIABLES,
    "NORTHSTAR_SYNC_CONFIG": "JSON file of the synced PostgreSQL tables (default: the repo's)",
    "NORTHSTAR_SYNC_DRIFT_SLA_HOURS": "allowed source-vs-FINAL watermark drift in hours (2)",
    "NORTHSTAR_PARITY_COUNT_TOLERANCE": "parity: shadow row and distinct-key counts may differ "
    "from production by this share of production (0.005)",
    "NORTHSTAR_PARITY_DIVERGENCE_TOLERANCE": "parity: largest KS statistic / total-variation "
    "distance of a column's distribution between shadow and production (0.01)",
    "NORTHSTAR_PREFERENCE_SPIKE_TOLERANCE": "preference export gate: a date's mismatches may "
    "exceed the trailing 14-date median by this share (0.5)",
    "NORTHSTAR_PREFERENCE_EXPORT_CAP": "preference export gate: most mismatches a date may have "
    "and still be exported (50000)",
    "NORTHSTAR_PREFERENCE_ACK_SLA_HOURS": "hours a sent core update may wait for the core "
    "system's acknowledgement (24)",
    "NORTHSTAR_RETENTION_LANDING_DAYS": "days a landed file is kept (90): the landing bucket's "
    "lifecycle rule and the daily apply_retention_job",
    "NORTHSTAR_RETENTION_WAREHOUSE_DAYS": "days of partitions kept in the warehouse (730); "
    "the operating records in ops are kept",
    "NORTHSTAR_SHADOW": "true: write the whole graph into <layer>_shadow schemas and the "
    "landing zone's shadow/ prefix, beside production (false)",
    **SNOWFLAKE_VARIABLES,
}


@dataclass(frozen=True)
class SnowflakeSettings:
    """Connection settings for the production warehouse; secrets never appear in repr."""

    account: str
    user: str
    role: str
    warehouse: str
    database: str
    password: str | None = None
    private_key_path: str | None = None
    private_key_passphrase: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str = "https"
    login_timeout_s: int = 30
    network_timeout_s: int = 300

    def __repr__(self) -> str:
        return (
            f"SnowflakeSettings(account={self.account!r}, user={self.user!r}, role={self.role!r})"
        )


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert mail goes; the password never appears in repr."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False


@dataclass(frozen=True)
class DsrSettings:
    """Data-subject request discovery; the salt never appears in repr."""

    salt: str | None = field(default=None, repr=False)
    catalog: Path | None = None
    drift_max_columns: int = 0
    sla_days: float = 30.0
    sla_warn_days: float = 7.0
    batch_size: int = 500
    statement_timeout_s: int = 30
    retries: int = 2
    backoff_s: float = 0.5
    circuit_failures: int = 3
    circuit_cooldown_s: float = 60.0


@dataclass(frozen=True)
class Settings:
    """Everything the platform reads from the environment, resolved and validated."""

    home: Path
    warehouse: str
    duckdb_path: Path
    source_dsn: str = field(repr=False)
    source_connect_timeout_s: int
    source_statement_timeout_s: int
    landing_url: str
    s3_endpoint_url: str | None
    dagster_home: Path
    dagster_yaml: Path
    """The instance config `northstar` copies into DAGSTER_HOME (SQLite or PostgreSQL)."""
    dbt_target: str
    quarantine_max_rate: float
    landing_quarantine_max_rate: float
    landing_volume_tolerance: float
    baseline_overrides: dict[str, dict[str, float]] = field(hash=False)
    """Per-asset spike-check overrides (lib/baselines.py `parse_overrides`)."""
    duplicate_rate_limit: float
    referential_violation_limit: float
    revenue_variance_limit: float
    mismatch_spike_tolerance: float
    missing_shipment_sla_hours: float
    dagster_ui_url: str
    slack_webhook_url: str | None = field(repr=False)
    smtp: SmtpSettings | None
    alert_sink_retries: int
    alert_sink_timeout_s: float
    sync_config: Path | None
    sync_drift_sla_hours: float
    parity_count_tolerance: float
    parity_divergence_tolerance: float
    preference_spike_tolerance: float
    preference_export_cap: int
    preference_ack_sla_hours: float
    retention_landing_days: int
    retention_warehouse_days: int
    shadow: bool
    """Shadow mode (seed 004): every relation in `<layer>_shadow`, platform-written landing
    files under `shadow/`, its own Dagster instance; production is never touched."""
    snowflake: SnowflakeSettings | None
    dsr: DsrSettings = field(default_factory=DsrSettings)
    """Data-subject request discovery (README "Data-subject requests")."""

    def reconciliation_vars(self) -> dict[str, float]:
        """The order reconciliation's thresholds as the dbt vars the models read."""
        return {
            "duplicate_rate_limit": self.duplicate_rate_limit,
            "referential_violation_limit": self.referential_violation_limit,
            "revenue_variance_limit": self.revenue_variance_limit,
            "mismatch_spike_tolerance": self.mismatch_spike_tolerance,
            "missing_shipment_sla_hours": self.missing_shipment_sla_hours,
        }

    @property
    def retention(self) -> RetentionPolicy:
        """How long landed files and warehouse partitions are kept."""
        return RetentionPolicy(self.retention_landing_days, self.retention_warehouse_days)

    @property
    def alert_file(self) -> Path:
        """The JSON-lines alert sink (always on, beside the `ops.pipeline_alert_log` table)."""
        return self.home / "alerts" / "alerts.jsonl"

    @property
    def environment(self) -> str:
        """`shadow` or `production`: what the ops tables record for this process's runs."""
        return "shadow" if self.shadow else "production"

    @property
    def landing_is_s3(self) -> bool:
        """Whether the landing zone is a bucket rather than a local folder."""
        return self.landing_url.startswith("s3://")


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    parse: Callable[[str], float],
    valid: Callable[[float], bool],
    expected: str,
) -> Any:
    """A numeric setting: `default` when unset, else parsed and checked, naming the variable."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {expected}, e.g. {default}") from None
    if not valid(value):
        raise SettingsError(f"{name}={raw!r} must be {expected}, e.g. {default}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, lambda v: v > 0, "a positive integer")


def _baseline_overrides(env: Mapping[str, str]) -> dict[str, dict[str, float]]:
    try:
        return parse_overrides(env.get("NORTHSTAR_BASELINE_OVERRIDES", ""))
    except ValueError as exc:
        raise SettingsError(f"NORTHSTAR_BASELINE_OVERRIDES: {exc}") from None


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, lambda v: 0 <= v <= 1, "a share between 0 and 1")


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    valid = lambda v: 0 < v < float("inf")  # noqa: E731
    return _number(env, name, default, float, valid, "a positive number")


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A true/false setting, false when unset."""
    raw = (env.get(name) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise SettingsError(f"{name}={env.get(name)!r}: expected true or false")
    return raw in ("true", "1")


def shadow_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether `NORTHSTAR_SHADOW` is on: the one setting schema names depend on (layers.py),
    read on its own so naming a relation does not parse every other setting."""
    return _flag(os.environ if env is None else env, "NORTHSTAR_SHADOW")


def upper_case_identifiers(env: Mapping[str, str] | None = None) -> bool:
    """Whether SQL identifiers are spelled upper-case: on Snowflake. There an unquoted name
    (every relation and column dbt creates) is stored upper-case and a quoted name is
    case-sensitive, so the names Python quotes must be upper-case to meet dbt's relations
    (`"STAGING"."STG_ORDERS"` is dbt's `staging.stg_orders`; `"staging"` would be another
    schema). DuckDB matches quoted names case-insensitively and keeps the lower-case spelling.
    Read at call time like `shadow_enabled`."""
    return warehouse_kind(env) == "snowflake"


def warehouse_kind(env: Mapping[str, str] | None = None) -> str:
    """`duckdb` or `snowflake` as `NORTHSTAR_WAREHOUSE` names it, unvalidated: the kind the
    UI shows on the assets Python writes, read when their definitions are built (dbt's models
    get theirs from the manifest's adapter)."""
    env = os.environ if env is None else env
    return env.get("NORTHSTAR_WAREHOUSE", "duckdb").lower()


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_file():
        raise SettingsError(f"{name}={raw!r}: no such file")
    return path


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


def _landing_url(env: Mapping[str, str], home: Path) -> str:
    raw = env.get("NORTHSTAR_LANDING_URL")
    if not raw:
        return str((home / "landing").resolve())
    if "://" in raw:
        parsed = urlparse(raw)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise SettingsError(
                f"NORTHSTAR_LANDING_URL={raw!r}: expected a folder path or s3://bucket/prefix"
            )
        return raw.rstrip("/")
    return str(Path(raw).expanduser().resolve())


def _slack_webhook_url(env: Mapping[str, str]) -> str | None:
    """The webhook URL, checked without ever echoing it (it is a secret)."""
    raw = env.get("NORTHSTAR_SLACK_WEBHOOK_URL") or None
    if raw and urlparse(raw).scheme not in ("https", "http"):
        raise SettingsError("NORTHSTAR_SLACK_WEBHOOK_URL must be an https:// URL")
    return raw


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    """The email sink: on when NORTHSTAR_SMTP_HOST and NORTHSTAR_ALERT_EMAIL_TO are both set."""
    host = env.get("NORTHSTAR_SMTP_HOST") or None
    recipients = tuple(
        r.strip() for r in (env.get("NORTHSTAR_ALERT_EMAIL_TO") or "").split(",") if r.strip()
    )
    if not host and not recipients:
        return None
    if not host or not recipients:
        missing = "NORTHSTAR_ALERT_EMAIL_TO" if host else "NORTHSTAR_SMTP_HOST"
        present = "NORTHSTAR_SMTP_HOST" if host else "NORTHSTAR_ALERT_EMAIL_TO"
        raise SettingsError(f"{missing} is not set; the email alert sink needs it with {present}")
    sender = env.get("NORTHSTAR_ALERT_EMAIL_FROM") or "northstar-alerts@localhost"
    for name, address in [("NORTHSTAR_ALERT_EMAIL_FROM", sender)] + [
        ("NORTHSTAR_ALERT_EMAIL_TO", r) for r in recipients
    ]:
        if "@" not in address or " " in address:
            raise SettingsError(f"{name}: {address!r} is not an email address")
    user = env.get("NORTHSTAR_SMTP_USER") or None
    password = env.get("NORTHSTAR_SMTP_PASSWORD") or None
    if user and not password:
        raise SettingsError("NORTHSTAR_SMTP_PASSWORD is not set; NORTHSTAR_SMTP_USER needs it")
    return SmtpSettings(
        host=host,
        port=_positive_int(env, "NORTHSTAR_SMTP_PORT", 25),
        sender=sender,
        recipients=recipients,
        user=user,
        password=password,
        starttls=_flag(env, "NORTHSTAR_SMTP_STARTTLS"),
    )


def _snowflake(env: Mapping[str, str]) -> SnowflakeSettings:
    def required(name: str) -> str:
        value = env.get(name)
        if not value:
            raise SettingsError(
                f"{name} is not set; NORTHSTAR_WAREHOUSE=snowflake needs it "
                f"({SNOWFLAKE_VARIABLES[name]})"
            )
        return value

    password = env.get("NORTHSTAR_SNOWFLAKE_PASSWORD") or None
    key_path = env.get("NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH") or None
    if not password and not key_path:
        raise SettingsError(
            "NORTHSTAR_SNOWFLAKE_PASSWORD or NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH must be set "
            "when NORTHSTAR_WAREHOUSE=snowflake"
        )
    if key_path and not Path(key_path).is_file():
        raise SettingsError(f"NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH={key_path!r}: no such file")
    protocol = env.get("NORTHSTAR_SNOWFLAKE_PROTOCOL", "https")
    if protocol not in ("https", "http"):
        raise SettingsError(f"NORTHSTAR_SNOWFLAKE_PROTOCOL={protocol!r}: expected https or http")
    port = env.get("NORTHSTAR_SNOWFLAKE_PORT")
    return SnowflakeSettings(
        account=required("NORTHSTAR_SNOWFLAKE_ACCOUNT"),
        user=required("NORTHSTAR_SNOWFLAKE_USER"),
        role=env.get("NORTHSTAR_SNOWFLAKE_ROLE", "NORTHSTAR_PIPELINE"),
        warehouse=env.get("NORTHSTAR_SNOWFLAKE_WAREHOUSE", "NORTHSTAR_WH"),
        database=env.get("NORTHSTAR_SNOWFLAKE_DATABASE", "NORTHSTAR"),
        password=password,
        private_key_path=key_path,
        private_key_passphrase=env.get("NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None,
        host=env.get("NORTHSTAR_SNOWFLAKE_HOST") or None,
        port=_positive_int(env, "NORTHSTAR_SNOWFLAKE_PORT", 443) if port else None,
        protocol=protocol,
        login_timeout_s=_positive_int(env, "NORTHSTAR_SNOWFLAKE_LOGIN_TIMEOUT_S", 30),
        network_timeout_s=_positive_int(env, "NORTHSTAR_SNOWFLAKE_NETWORK_TIMEOUT_S", 300),
    )


def _dsr(env: Mapping[str, str]) -> DsrSettings:
    def whole(name: str, default: int) -> int:
        return _number(env, name, default, int, lambda v: v >= 0, "a whole number >= 0")

    sla_days = _positive_float(env, "NORTHSTAR_DSR_SLA_DAYS", 30.0)
    warn_days = _positive_float(env, "NORTHSTAR_DSR_SLA_WARN_DAYS", 7.0)
    if warn_days >= sla_days:
        raise SettingsError(
            f"NORTHSTAR_DSR_SLA_WARN_DAYS={warn_days} must be below NORTHSTAR_DSR_SLA_DAYS="
            f"{sla_days}"
        )
    return DsrSettings(
        salt=env.get("NORTHSTAR_DSR_SALT") or None,
        catalog=_existing_file(env, "NORTHSTAR_DSR_CATALOG"),
        drift_max_columns=whole("NORTHSTAR_DSR_DRIFT_MAX_COLUMNS", 0),
        sla_days=sla_days,
        sla_warn_days=warn_days,
        batch_size=_positive_int(env, "NORTHSTAR_DSR_BATCH_SIZE", 500),
        statement_timeout_s=_positive_int(env, "NORTHSTAR_DSR_STATEMENT_TIMEOUT_S", 30),
        retries=whole("NORTHSTAR_DSR_RETRIES", 2),
        backoff_s=_number(
            env, "NORTHSTAR_DSR_BACKOFF_S", 0.5, float, lambda v: v >= 0, "a number >= 0"
        ),
        circuit_failures=_positive_int(env, "NORTHSTAR_DSR_CIRCUIT_FAILURES", 3),
        circuit_cooldown_s=_positive_float(env, "NORTHSTAR_DSR_CIRCUIT_COOLDOWN_S", 60.0),
    )


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise `SettingsError` naming the first bad variable."""
    env = os.environ if env is None else env
    unknown = sorted(k for k in env if k.startswith("NORTHSTAR_") and k not in KNOWN_VARIABLES)
    if unknown:
        close = difflib.get_close_matches(unknown[0], KNOWN_VARIABLES, n=1, cutoff=0.85)
        hint = f"did you mean {close[0]}?" if close else "the README lists every setting"
        raise SettingsError(f"unknown setting {unknown[0]}; {hint}")
    home = _path(env, "NORTHSTAR_HOME", REPO_ROOT / ".northstar")
    warehouse = env.get("NORTHSTAR_WAREHOUSE", "duckdb").lower()
    if warehouse not in WAREHOUSES:
        raise SettingsError(
            f"NORTHSTAR_WAREHOUSE={warehouse!r}: expected one of {', '.join(WAREHOUSES)}"
        )
    dsn = env.get("NORTHSTAR_SOURCE_DSN", "postgresql://postgres@127.0.0.1:5432/northstar")
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            f"NORTHSTAR_SOURCE_DSN must be a postgresql:// URL, e.g. "
            f"postgresql://user@host:5432/dbname (got a value starting {dsn[:12]!r})"
        )
    shadow = shadow_enabled(env)
    dbt_target = env.get("NORTHSTAR_DBT_TARGET", warehouse)
    if dbt_target not in DBT_TARGETS[warehouse]:
        raise SettingsError(
            f"NORTHSTAR_DBT_TARGET={dbt_target!r}: with NORTHSTAR_WAREHOUSE={warehouse} "
            f"expected one of {', '.join(DBT_TARGETS[warehouse])}"
        )
    return Settings(
        home=home,
        warehouse=warehouse,
        duckdb_path=_path(env, "NORTHSTAR_DUCKDB_PATH", home / "warehouse.duckdb"),
        source_dsn=dsn,
        source_connect_timeout_s=_positive_int(env, "NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", 10),
        source_statement_timeout_s=_positive_int(env, "NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S", 300),
        landing_url=_landing_url(env, home),
        s3_endpoint_url=env.get("NORTHSTAR_S3_ENDPOINT_URL") or None,
        # Shadow runs keep their own asset history: production's is never mixed with it.
        dagster_home=_path(env, "DAGSTER_HOME", home / ("dagster-shadow" if shadow else "dagster")),
        dagster_yaml=_existing_file(env, "NORTHSTAR_DAGSTER_YAML") or REPO_ROOT / "dagster.yaml",
        dbt_target=dbt_target,
        quarantine_max_rate=_rate(env, "NORTHSTAR_QUARANTINE_MAX_RATE", 0.05),
        landing_quarantine_max_rate=_rate(env, "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", 0.01),
        landing_volume_tolerance=_positive_float(env, "NORTHSTAR_LANDING_VOLUME_TOLERANCE", 0.5),
        baseline_overrides=_baseline_overrides(env),
        duplicate_rate_limit=_rate(env, "NORTHSTAR_DUPLICATE_RATE_LIMIT", 0.001),
        referential_violation_limit=_rate(env, "NORTHSTAR_REFERENTIAL_VIOLATION_LIMIT", 0.01),
        revenue_variance_limit=_rate(env, "NORTHSTAR_REVENUE_VARIANCE_LIMIT", 0.0005),
        mismatch_spike_tolerance=_positive_float(env, "NORTHSTAR_MISMATCH_SPIKE_TOLERANCE", 0.2),
        missing_shipment_sla_hours=_positive_float(
            env, "NORTHSTAR_MISSING_SHIPMENT_SLA_HOURS", 24.0
        ),
        dagster_ui_url=env.get("NORTHSTAR_DAGSTER_UI_URL") or "http://127.0.0.1:3000",
        slack_webhook_url=_slack_webhook_url(env),
        smtp=_smtp(env),
        alert_sink_retries=_number(
            env, "NORTHSTAR_ALERT_SINK_RETRIES", 2, int, lambda v: v >= 0, "a whole number >= 0"
        ),
        alert_sink_timeout_s=_positive_float(env, "NORTHSTAR_ALERT_SINK_TIMEOUT_S", 5.0),
        sync_config=_existing_file(env, "NORTHSTAR_SYNC_CONFIG"),
        sync_drift_sla_hours=_positive_float(env, "NORTHSTAR_SYNC_DRIFT_SLA_HOURS", 2.0),
        parity_count_tolerance=_rate(env, "NORTHSTAR_PARITY_COUNT_TOLERANCE", 0.005),
        parity_divergence_tolerance=_rate(env, "NORTHSTAR_PARITY_DIVERGENCE_TOLERANCE", 0.01),
        preference_spike_tolerance=_positive_float(
            env, "NORTHSTAR_PREFERENCE_SPIKE_TOLERANCE", 0.5
        ),
        preference_export_cap=_positive_int(env, "NORTHSTAR_PREFERENCE_EXPORT_CAP", 50_000),
        preference_ack_sla_hours=_positive_float(env, "NORTHSTAR_PREFERENCE_ACK_SLA_HOURS", 24.0),
        retention_landing_days=_positive_int(env, "NORTHSTAR_RETENTION_LANDING_DAYS", 90),
        retention_warehouse_days=_positive_int(env, "NORTHSTAR_RETENTION_WAREHOUSE_DAYS", 730),
        shadow=shadow,
        snowflake=_snowflake(env) if warehouse == "snowflake" else None,
        dsr=_dsr(env),
    )
