"""The capacity and cost plan's arithmetic (docs/capacity-and-cost.md), checkable.

    .venv/bin/python bench/cost_model.py                  # the doc's tables
    .venv/bin/python bench/cost_model.py --bench .northstar/bench/scaling/latest.json

Every figure is a function of `Assumptions` (the seed's volumes, the platform's cadence,
prices as of 2026-12: AWS us-east-1 and Snowflake Enterprise on AWS us-east-1, list prices)
and `Measured` (this 2-core machine: the scaling curve of `bench/scaling.py`, and the
seed-scale figures of `bench/stripe_ingest.py`, `bench/reconciliation.py`,
`bench/preferences.py` and `bench/sync_orders.py`). Change one and re-run: the doc's tables
are this script's output. Money is US$ per month; a month is 730 hours = 30.42 days.

How laptop seconds become production seconds (the doc explains why):
- a run's fixed part (Dagster run, steps, dbt start, statements) takes `sf_fixed_factor` (2)
  times its laptop seconds: Snowflake statements take ~0.1-0.5 s where DuckDB takes ms;
- the per-row Python work (parsing, validating, writing rows) is not sped up: a Fargate
  worker is taken to be as fast as this machine, and the warehouse stays resumed meanwhile;
- the per-row SQL work of the dbt models is divided by the warehouse's nodes (MEDIUM 4,
  LARGE 8) times `sf_node_factor` (1: one node at least as fast as this whole machine; the
  sensitivity takes 0.5, "2x worse").
"""

import argparse
import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
CREDITS_PER_HOUR = {"XSMALL": 1, "SMALL": 2, "MEDIUM": 4, "LARGE": 8}
NODES = CREDITS_PER_HOUR  # a warehouse's nodes = its credits per hour
TARGET_LATENCY_S = 20 * 60


@dataclass(frozen=True)
class Measured:
    """Laptop seconds on this machine (2 cores, 24 GiB, DuckDB 2.0, dbt-duckdb 1.11)."""

    # The scaling curve: bench/scaling.py, 2026-12-05, `northstar demo --days 1` at scales
    # 1, 2, 4, 7, 10 (11,865 to 118,554 rows in), 2 rounds, each scale's fastest round,
    # least squares seconds = a + b x rows in. `load_measured` reads them from its JSON.
    fixed_cycle_s: float = 26.3
    """One orders+payments cycle at zero rows: the intercepts of the daily ingest + stage
    run (14.5 s) and of the dbt models + diagnostics runs (11.8 s). Includes the preference
    dbt step, which the 15-minute cycle does not run: conservative."""
    fixed_wms_run_s: float = 25.0 / 24
    """One hourly WMS run: the intercept of the 24 hourly runs, / 24."""
    fixed_small_run_s: float = 8.2 / 9
    """One small run (sync, late-file re-run, DSR discovery): the intercept of those 9 runs."""
    py_us: float = 48.0
    """Per row in, the Python steps' slope (37.9 us) + the per-run overhead's (10.1 us):
    parsing, validating and writing rows, on the worker; not sped up by the warehouse."""
    dbt_us: float = 30.4
    """Per row in, the dbt steps' slope: SQL, divided by the warehouse's nodes."""
    py_us_upper: float = 85.6 + 35.1
    dbt_us_upper: float = 100.3
    """The same slopes' 95% upper bounds (5 points, t = 3.18): the sensitivity."""
    # Seed-scale figures (bench/README.md): the per-row cost at production batch sizes.
    stripe_us: float = 104.19 / 8.0
    """Stripe ingest (raw + staging + checks): 8M lines in 104.19 s, us per line."""
    dbt_seed_us: float = (21.05 - 6.0) / 9.314265
    """Order models (dbt build of one seed-scale day minus dbt's 6.0 s start): 9.31M rows
    in (order versions + Stripe events + WMS rows) in 15.05 s, us per row."""
    orders_raw_us: float = 0.80
    """Staging landed order rows (sync bench: 1M rows staged in 0.80 s), us per row."""
    raw_mb_s: float = 2920 / 48.1
    """Raw text written into the warehouse: 2.92 GB in the Stripe raw step's 48.1 s."""
    stripe_slice_s: float = 2.86
    """One 15-minute slice (85,000 lines), the ingest run itself."""
    dbt_start_s: float = 6.0
    """dbt's process start and parse (reconciliation bench)."""
    prefs_build_s: float = 28.92
    """Preference reconciliation over 30M rows (12M keys): dbt build, process wall."""
    process_start_s: float = 10.0
    """A run process's start, imports and definitions (Stripe bench: 114.20 - 104.19 s)."""

    def at_seed_scale(self) -> "Measured":
        """The per-row costs measured at production batch sizes instead of the curve's."""
        return dataclasses.replace(self, py_us=self.stripe_us, dbt_us=self.dbt_seed_us)

    def upper(self) -> "Measured":
        """The curve's per-row costs at their 95% upper bounds."""
        return dataclasses.replace(self, py_us=self.py_us_upper, dbt_us=self.dbt_us_upper)


@dataclass(frozen=True)
class Assumptions:
    """Volumes (seed 002), cadence (README), prices (2026-12, us-east-1, list)."""

    # --- volumes ---------------------------------------------------------------------------
    raw_gb_per_day: float = 450.0
    stripe_events_per_day: float = 8_000_000
    orders_per_day: float = 330_000  # ~120M orders / 365 days
    versions_per_order: float = 2.8  # reconciliation bench: 924,337 versions / 330,100 orders
    wms_files_per_day: float = 250
    wms_rows_per_day: float = 390_000  # reconciliation bench: 389,928 rows in 250 files
    synced_rows_per_day: float = 220_000  # customers + core preference changes (assumed)
    stripe_files_per_day: float = 96  # one file per 15-minute slice (as the Stripe bench)
    stripe_gb_per_day: float = 32.0  # 8M events x ~4 KB as Stripe sends them
    privacy_files_per_day: float = 24
    dsr_requests_per_day: float = 10
    # --- cadence ---------------------------------------------------------------------------
    cycles_per_day: int = 96  # orders + payments (+ sync, + run-log recording) every 15 min
    wms_runs_per_day: int = 24
    ack_checks_per_day: int = 24  # ingest_core_update_acks_job_schedule, hourly
    daily_runs: int = 3  # finance, preference reconciliation, DSR SLA check
    day_rebuild: bool = False
    """True = as built today: every cycle rebuilds the Stripe day and the orders day from
    every file landed so far. False = the plan: a cycle ingests only its own slice."""
    # --- Snowflake -------------------------------------------------------------------------
    credit_usd: float = 3.00  # Enterprise, AWS us-east-1, on-demand
    pipeline_wh: str = "MEDIUM"
    backfill_wh: str = "LARGE"
    bi_wh: str = "XSMALL"
    sf_node_factor: float = 1.0
    sf_fixed_factor: float = 2.0
    auto_suspend_s: float = 60.0  # billed idle after the last statement
    min_billed_s: float = 60.0  # per resume
    load_workers: int = 4  # raw loads running at once (deploy: max_concurrent_runs 6)
    bi_hours_per_day: float = 12.0
    replay_days_per_month: float = 30.0  # one 30-day replay a month
    incident_hours_per_month: float = 10.0  # LARGE, for incidents and month-end
    compression: float = 5.0  # raw JSON/CSV text -> Snowflake columnar (range 4-6)
    staging_share: float = 0.5  # staging bytes / raw bytes, compressed
    modelled_share: float = 0.1  # curated + audit + marts + ops per day / raw, compressed
    retention_days: int = 730
    time_travel_days: int = 7  # snowflake/migrations/V001: database retention 7 days
    fail_safe_days: int = 7
    rewrite_share: float = 0.25  # share of a day's bytes rewritten later (merges, replays)
    storage_usd_tb: float = 40.0  # on-demand, AWS us-east-1 ($23 with a capacity contract)
    # --- S3 --------------------------------------------------------------------------------
    s3_retention_days: int = 90
    s3_gb_usd: float = 0.023  # Standard, first 50 TB, per GB-month
    s3_put_usd_1k: float = 0.005  # PUT, COPY, POST, LIST
    s3_get_usd_1k: float = 0.0004
    multipart_mb: float = 8.0  # boto3's default multipart chunk: one PUT per 8 MB
    platform_gb_per_day: float = 2.0  # the platform's own exports (orders, sync, patches)
    sensor_interval_s: float = 30.0
    sensor_objects_per_day: dict[str, float] = field(
        default_factory=lambda: {
            "stripe/": 96,
            "wms/": 250,
            "finance/": 1,
            "privacy/": 24,
            "exports/core_updates_acks/": 1,
            "dsr/requests/": 10,
        }
    )
    # --- AWS compute: ECS on Fargate (Linux/x86) -------------------------------------------
    vcpu_h_usd: float = 0.04048
    gb_h_usd: float = 0.004445
    task_start_s: float = 45.0  # Fargate bills from the image pull
    always_on: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {  # (vCPU, GB)
            "webserver": (1, 2),
            "daemon": (1, 2),
            "code server (gRPC; sensors run here)": (2, 4),
        }
    )
    eks: bool = False
    eks_usd_month: float = 73.0  # $0.10/h
    rds_h_usd: float = 0.065  # db.t4g.medium PostgreSQL, single-AZ
    rds_multi_az: bool = True
    rds_gb: float = 100
    rds_gb_usd: float = 0.115  # gp3, per GB-month
    nat_gateways: int = 2
    nat_h_usd: float = 0.045
    nat_gb_usd: float = 0.045
    nat_share: float = 0.05
    """Bytes through NAT / raw bytes: S3 traffic (landing reads, Snowflake stage uploads and
    result downloads, both in S3 in-region) takes a free S3 gateway endpoint."""
    logs_gb_per_day: float = 3.0
    logs_ingest_usd_gb: float = 0.50
    logs_store_usd_gb: float = 0.03
    alb_usd_month: float = (0.0225 + 0.008) * 730  # one ALB + ~1 LCU
    secrets: int = 8
    secret_usd: float = 0.40
    budget_usd: float = 18_000.0


@dataclass(frozen=True)
class Line:
    item: str
    formula: str
    usd: float


# --- rows and seconds ----------------------------------------------------------------------


def ingest_rows_per_cycle(a: Assumptions) -> float:
    """New rows one 15-minute cycle ingests: Stripe events, order versions, synced rows."""
    day = a.stripe_events_per_day + a.orders_per_day * a.versions_per_order + a.synced_rows_per_day
    return day / a.cycles_per_day


def staged_rows_per_day(a: Assumptions) -> float:
    return a.stripe_events_per_day + a.orders_per_day * a.versions_per_order + a.wms_rows_per_day


def rebuild_s_per_cycle(a: Assumptions, m: Measured, k: int | None = None) -> float:
    """As built (`day_rebuild`), the extra seconds of cycle k of n (None: the day's average):
    it re-ingests the Stripe day so far, (k - 1)/n of the day beyond its own slice (average
    (n - 1)/2n), and re-reads every orders export of the day, since each cycle exported the
    day so far: V k(k + 1)/2n order versions (average V (n + 1)(n + 2)/6n = 16.5 V; the last
    cycle 48.5 V), V = the day's versions."""
    if not a.day_rebuild:
        return 0.0
    n = a.cycles_per_day
    versions = a.orders_per_day * a.versions_per_order
    if k is None:
        stripe = (n - 1) / (2 * n)
        orders = (n + 1) * (n + 2) / (6 * n)
    else:
        stripe = (k - 1) / n
        orders = k * (k + 1) / (2 * n)
    return (
        stripe * a.stripe_events_per_day * m.py_us * 1e-6
        + orders * versions * m.orders_raw_us * 1e-6
    )


def cycle_seconds(a: Assumptions, m: Measured, wh: str, k: int | None = None) -> float:
    """Seconds cycle k (None: the day's average) keeps warehouse `wh` busy: the
    orders+payments run, the sync and the run-log recording one after another (no overlap:
    conservative). Its dbt models re-evaluate the day so far (curated reads the window's
    staged rows): k/n of the day's staged rows, (n + 1)/2n on average."""
    n = a.cycles_per_day
    share = (n + 1) / (2 * n) if k is None else k / n
    fixed = m.fixed_cycle_s + 2 * m.fixed_small_run_s
    return (
        a.sf_fixed_factor * fixed
        + ingest_rows_per_cycle(a) * m.py_us * 1e-6
        + share * staged_rows_per_day(a) * m.dbt_us * 1e-6 / (NODES[wh] * a.sf_node_factor)
        + rebuild_s_per_cycle(a, m, k)
    )


def replay_day_seconds(a: Assumptions, m: Measured, wh: str, ingest: bool) -> float:
    """One whole day: its dbt models on `wh` (the daily reconciliation), and for a replay
    its ingest too (Python, not sped up by the warehouse)."""
    rows = staged_rows_per_day(a)
    seconds = a.sf_fixed_factor * m.fixed_cycle_s + rows * m.dbt_us * 1e-6 / (
        NODES[wh] * a.sf_node_factor
    )
    return seconds + (rows * m.py_us * 1e-6 if ingest else 0.0)


def billed(active_s: float, a: Assumptions) -> float:
    """Seconds billed for one resume: at least the minimum, plus the auto-suspend tail."""
    return max(a.min_billed_s, active_s) + a.auto_suspend_s


# --- Snowflake -----------------------------------------------------------------------------


def snowflake_hours(a: Assumptions, m: Measured) -> list[tuple[str, str, float, str]]:
    """(use, warehouse, hours a day, formula)."""
    p, lg = a.pipeline_wh, a.backfill_wh
    cyc = cycle_seconds(a, m, p)
    wms = a.sf_fixed_factor * m.fixed_wms_run_s + a.wms_rows_per_day / a.wms_runs_per_day * (
        m.py_us * 1e-6
    )
    small = a.sf_fixed_factor * m.fixed_small_run_s
    prefs = a.sf_fixed_factor * m.dbt_start_s + (m.prefs_build_s - m.dbt_start_s) / (
        NODES[p] * a.sf_node_factor
    )
    daily = [small, prefs, small]  # finance, preferences, DSR SLA check
    parallel = min(a.load_workers, NODES[p] * a.sf_node_factor)
    load_s = a.raw_gb_per_day * 1000 / (m.raw_mb_s * parallel)
    recon = replay_day_seconds(a, m, lg, ingest=False)
    replay_day = replay_day_seconds(a, m, lg, ingest=True)
    daily_s = sum(billed(s, a) for s in daily) + a.dsr_requests_per_day * billed(small, a)
    return [
        (
            "15-minute cycles",
            p,
            a.cycles_per_day * billed(cyc, a) / 3600,
            f"{a.cycles_per_day} x (max(60, {cyc:.0f} s) + 60 s)",
        ),
        (
            "hourly WMS runs",
            p,
            a.wms_runs_per_day * billed(wms, a) / 3600,
            f"{a.wms_runs_per_day} x (max(60, {wms:.0f} s) + 60 s)",
        ),
        (
            "hourly ack checks",
            p,
            a.ack_checks_per_day * billed(small, a) / 3600,
            f"{a.ack_checks_per_day} x (max(60, {small:.0f} s) + 60 s)",
        ),
        (
            "daily runs, DSR discoveries",
            p,
            daily_s / 3600,
            f"(finance, preferences {prefs:.0f} s, DSR SLA) + {a.dsr_requests_per_day:g} "
            "discoveries, each max(60, s) + 60 s",
        ),
        (
            "loading 450 GB/day of raw text",
            p,
            load_s / 3600,
            f"{a.raw_gb_per_day:g} GB / ({m.raw_mb_s:.0f} MB/s x {parallel:g} loads at once)",
        ),
        (
            "daily reconciliation",
            lg,
            billed(recon, a) / 3600,
            f"1 x (max(60, {recon:.0f} s) + 60 s)",
        ),
        (
            "replays, incidents",
            lg,
            (a.replay_days_per_month * replay_day / 3600 + a.incident_hours_per_month)
            / DAYS_PER_MONTH,
            f"({a.replay_days_per_month:g} days x {replay_day:.0f} s + "
            f"{a.incident_hours_per_month:g} h) a month / {DAYS_PER_MONTH:.2f}",
        ),
        ("dashboards", a.bi_wh, a.bi_hours_per_day, f"{a.bi_hours_per_day:g} h a day"),
    ]


def credits_per_month(a: Assumptions, m: Measured) -> float:
    return sum(h * CREDITS_PER_HOUR[wh] for _, wh, h, _ in snowflake_hours(a, m)) * (DAYS_PER_MONTH)


def snowflake_compute(a: Assumptions, m: Measured) -> list[Line]:
    lines = []
    for use, wh, hours, formula in snowflake_hours(a, m):
        credits = hours * CREDITS_PER_HOUR[wh]
        lines.append(
            Line(
                f"{use} ({wh})",
                f"{formula} = {hours:.2f} h/day x {CREDITS_PER_HOUR[wh]} cr/h = "
                f"{credits:.2f} cr/day x {DAYS_PER_MONTH:.2f} x ${a.credit_usd:.2f}",
                credits * DAYS_PER_MONTH * a.credit_usd,
            )
        )
    return lines


def snowflake_tb(a: Assumptions) -> dict[str, float]:
    """Terabytes at the 2-year steady state."""
    raw_day = a.raw_gb_per_day / a.compression / 1000
    day = raw_day * (1 + a.staging_share + a.modelled_share)
    churn_day = day * (1 + a.rewrite_share)  # expired by retention + rewritten
    if a.day_rebuild:  # the Stripe day's raw + staging rewritten at every cycle but the first
        stripe = a.stripe_gb_per_day / a.compression / 1000 * (1 + a.staging_share)
        churn_day += stripe * (a.cycles_per_day - 1) / 2
    return {
        "day": day,
        "active": day * a.retention_days,
        "protected": churn_day * (a.time_travel_days + a.fail_safe_days),
    }


def snowflake_storage(a: Assumptions) -> list[Line]:
    tb = snowflake_tb(a)
    return [
        Line(
            "active, 2-year steady state",
            f"{a.raw_gb_per_day:g} GB / {a.compression:g} x (1 + {a.staging_share:g} staging"
            f" + {a.modelled_share:g} modelled) = {tb['day'] * 1000:.0f} GB/day x "
            f"{a.retention_days} days = {tb['active']:.1f} TB x ${a.storage_usd_tb:g}",
            tb["active"] * a.storage_usd_tb,
        ),
        Line(
            "time travel + fail-safe",
            f"{tb['day'] * 1000:.0f} GB/day x (1 expired + {a.rewrite_share:g} rewritten)"
            f"{' + Stripe day rewrites' if a.day_rebuild else ''} x ({a.time_travel_days} + "
            f"{a.fail_safe_days}) days = {tb['protected']:.2f} TB x ${a.storage_usd_tb:g}",
            tb["protected"] * a.storage_usd_tb,
        ),
    ]


# --- S3 ------------------------------------------------------------------------------------


def sensor_lists_per_day(a: Assumptions) -> float:
    """Every landing sensor lists its whole prefix (every retained day) at every tick, one
    LIST per 1,000 keys."""
    pages = sum(
        math.ceil(n * a.s3_retention_days / 1000) for n in a.sensor_objects_per_day.values()
    )
    return 86_400 / a.sensor_interval_s * pages


def s3(a: Assumptions) -> list[Line]:
    stored_gb = (a.raw_gb_per_day + a.platform_gb_per_day) * a.s3_retention_days
    files = a.stripe_files_per_day + a.wms_files_per_day + 1 + a.privacy_files_per_day
    exports = 3 * a.cycles_per_day  # orders export + two synced tables per cycle
    puts = a.raw_gb_per_day * 1000 / a.multipart_mb + files + exports
    lists = sensor_lists_per_day(a)
    n = a.cycles_per_day
    if a.day_rebuild:  # cycle k reads the k files of the day so far (Stripe and orders)
        gets = (a.stripe_files_per_day + n) * (n + 1) / 2 + a.wms_files_per_day
    else:
        gets = a.stripe_files_per_day + n + a.wms_files_per_day
    d = DAYS_PER_MONTH
    return [
        Line(
            "Standard storage, 90 days",
            f"({a.raw_gb_per_day:g} + {a.platform_gb_per_day:g} platform) GB/day x "
            f"{a.s3_retention_days} days = {stored_gb:,.0f} GB x ${a.s3_gb_usd}",
            stored_gb * a.s3_gb_usd,
        ),
        Line(
            "PUT (8 MB multipart parts + small files)",
            f"{puts:,.0f}/day x {d:.2f} x ${a.s3_put_usd_1k}/1,000",
            puts * d * a.s3_put_usd_1k / 1000,
        ),
        Line(
            "LIST (6 sensors, whole prefix every 30 s)",
            f"{lists:,.0f}/day x {d:.2f} x ${a.s3_put_usd_1k}/1,000",
            lists * d * a.s3_put_usd_1k / 1000,
        ),
        Line(
            "GET (runs reading their files)",
            f"{gets:,.0f}/day x {d:.2f} x ${a.s3_get_usd_1k}/1,000",
            gets * d * a.s3_get_usd_1k / 1000,
        ),
        Line("lifecycle expiration after 90 days; in-region transfer", "free", 0.0),
    ]


# --- AWS: Dagster, workers, network --------------------------------------------------------


def worker_runs(a: Assumptions, m: Measured) -> list[tuple[str, float, float, float, float]]:
    """(run, runs a day, vCPU, GB, seconds each). A worker waits for its SQL too."""
    start = a.task_start_s + m.process_start_s
    cyc = start + cycle_seconds(a, m, a.pipeline_wh)
    wms = (
        start
        + a.sf_fixed_factor * m.fixed_wms_run_s
        + (a.wms_rows_per_day / a.wms_runs_per_day * m.py_us * 1e-6)
    )
    small = start + a.sf_fixed_factor * m.fixed_small_run_s
    load_h = a.raw_gb_per_day * 1000 / m.raw_mb_s / 3600
    return [
        ("orders+payments cycle", a.cycles_per_day, 4, 16, cyc),
        ("PostgreSQL sync", a.cycles_per_day, 1, 4, small),
        ("run-log recording", a.cycles_per_day, 0.5, 1, small),
        ("WMS hour", a.wms_runs_per_day, 2, 8, wms),
        ("ack check", a.ack_checks_per_day, 0.5, 1, small),
        ("daily runs", a.daily_runs, 4, 16, start + m.prefs_build_s),
        ("DSR discovery", a.dsr_requests_per_day, 1, 4, small),
        ("raw loads, 450 GB", 1, 4, 16, load_h * 3600),
        (
            "reconciliation + replays",
            1 + a.replay_days_per_month / DAYS_PER_MONTH,
            4,
            16,
            start + replay_day_seconds(a, m, a.backfill_wh, ingest=True),
        ),
    ]


def aws(a: Assumptions, m: Measured) -> list[Line]:
    lines = []
    for name, (vcpu, gb) in a.always_on.items():
        lines.append(
            Line(
                f"Fargate, always on: {name}",
                f"({vcpu:g} vCPU x ${a.vcpu_h_usd} + {gb:g} GB x ${a.gb_h_usd}) x 730 h",
                (vcpu * a.vcpu_h_usd + gb * a.gb_h_usd) * HOURS_PER_MONTH,
            )
        )
    for name, runs, vcpu, gb, seconds in worker_runs(a, m):
        hourly = vcpu * a.vcpu_h_usd + gb * a.gb_h_usd
        secs = max(60.0, seconds)  # per second, one-minute minimum
        lines.append(
            Line(
                f"Fargate runs: {name}",
                f"{runs:.1f}/day x {secs:.0f} s x ({vcpu:g} vCPU, {gb:g} GB) = ${hourly:.4f}/h",
                runs * secs / 3600 * hourly * DAYS_PER_MONTH,
            )
        )
    if a.eks:
        lines.append(Line("EKS control plane", "$0.10/h x 730 h", a.eks_usd_month))
    az = 2 if a.rds_multi_az else 1
    lines.append(
        Line(
            "RDS PostgreSQL, Dagster instance",
            f"db.t4g.medium ${a.rds_h_usd}/h x {az} (Multi-AZ) x 730 h + {a.rds_gb:g} GB gp3"
            f" x ${a.rds_gb_usd} x {az}",
            a.rds_h_usd * az * HOURS_PER_MONTH + a.rds_gb * a.rds_gb_usd * az,
        )
    )
    nat_gb = a.raw_gb_per_day * a.nat_share * DAYS_PER_MONTH
    lines.append(
        Line(
            "NAT gateways",
            f"{a.nat_gateways} x ${a.nat_h_usd}/h x 730 h + {a.nat_share:g} x "
            f"{a.raw_gb_per_day:g} GB/day = {nat_gb:,.0f} GB x ${a.nat_gb_usd}",
            a.nat_gateways * a.nat_h_usd * HOURS_PER_MONTH + nat_gb * a.nat_gb_usd,
        )
    )
    logs_gb = a.logs_gb_per_day * DAYS_PER_MONTH
    lines.append(
        Line(
            "CloudWatch Logs",
            f"{logs_gb:.0f} GB x (${a.logs_ingest_usd_gb} ingest + ${a.logs_store_usd_gb} "
            "stored, 30-day retention)",
            logs_gb * (a.logs_ingest_usd_gb + a.logs_store_usd_gb),
        )
    )
    lines.append(
        Line("ALB for the webserver", "($0.0225 + ~1 LCU x $0.008)/h x 730 h", a.alb_usd_month)
    )
    lines.append(
        Line("Secrets Manager", f"{a.secrets} x ${a.secret_usd}", a.secrets * a.secret_usd)
    )
    return lines


# --- totals --------------------------------------------------------------------------------


def components(a: Assumptions, m: Measured) -> dict[str, list[Line]]:
    return {
        "Snowflake compute": snowflake_compute(a, m),
        "Snowflake storage": snowflake_storage(a),
        "S3 landing zone": s3(a),
        "AWS: Dagster, workers, network": aws(a, m),
    }


def subtotals(a: Assumptions, m: Measured) -> dict[str, float]:
    return {name: sum(x.usd for x in lines) for name, lines in components(a, m).items()}


def total(a: Assumptions, m: Measured) -> float:
    return sum(subtotals(a, m).values())


def month_total(a: Assumptions, m: Measured, month: int) -> float:
    """The total in month `month` after go-live: Snowflake's active storage fills over the
    2-year retention and S3 over its 90 days (linearly); everything else is there from day
    one."""
    stored_days = month * DAYS_PER_MONTH
    sf = snowflake_storage(a)
    s3_lines = s3(a)
    sf_share = min(1.0, stored_days / a.retention_days)
    s3_share = min(1.0, stored_days / a.s3_retention_days)
    return total(a, m) - sf[0].usd * (1 - sf_share) - s3_lines[0].usd * (1 - s3_share)


def suggested_quota(a: Assumptions, m: Measured) -> dict[str, float]:
    """Credits a month: what the plan needs, a quota with 50% headroom, and the largest quota
    whose 110% hard stop (SUSPEND_IMMEDIATE) keeps the whole plan under the budget."""
    need = credits_per_month(a, m)
    compute_usd = sum(x.usd for x in snowflake_compute(a, m))
    rest = total(a, m) - compute_usd
    return {
        "need": need,
        "suggested": math.ceil(need * 1.5 / 100) * 100,
        "ceiling": (a.budget_usd - rest) / a.credit_usd / 1.1,
    }


def latency(a: Assumptions, m: Measured) -> dict[str, float]:
    """Seconds from a source change to analytics-ready, worst case: waiting for the next
    cycle (one cadence) + the day's last cycle (the largest: dbt re-reads the whole day)
    from worker start to the end of its dbt models. Also with the seed-scale per-row cost
    (13 us, the 8M-line Stripe day) instead of the curve's upper bound, and as built."""
    start = a.task_start_s + m.process_start_s
    wait = 86_400 / a.cycles_per_day
    n = a.cycles_per_day
    built = dataclasses.replace(a, day_rebuild=True)
    seed = m.at_seed_scale()
    out = {"wait": wait}
    for name, a2, m2 in (
        ("plan", a, m),
        ("plan_seed", a, seed),
        ("built", built, m),
        ("built_seed", built, seed),
    ):
        out[name] = start + cycle_seconds(a2, m2, a2.pipeline_wh, n)
    return out


def print_tables(a: Assumptions, m: Measured) -> None:
    for name, lines in components(a, m).items():
        print(f"\n#### {name}\n")
        print("| item | formula | $/month |")
        print("|---|---|---:|")
        for x in lines:
            print(f"| {x.item} | {x.formula} | {x.usd:,.0f} |")
        print(f"| **subtotal** | | **{sum(x.usd for x in lines):,.0f}** |")
    print("\n#### Total\n")
    print("| component | $/month |")
    print("|---|---:|")
    subs = subtotals(a, m)
    for name, usd in subs.items():
        print(f"| {name} | {usd:,.0f} |")
    grand = sum(subs.values())
    print(f"| **total** | **{grand:,.0f}** |")
    print(
        f"| headroom under ${a.budget_usd:,.0f} | {a.budget_usd - grand:,.0f} "
        f"({(a.budget_usd - grand) / a.budget_usd:.0%}) |"
    )
    ramp = ", ".join(f"month {n}: {month_total(a, m, n):,.0f}" for n in (1, 3, 6, 12, 24))
    print(f"| ramp ($/month) | {ramp} |")
    q = suggested_quota(a, m)
    print(
        f"\nSnowflake credits: {q['need']:,.0f} a month needed; suggested resource-monitor "
        f"quota {q['suggested']:,.0f}; the largest quota whose 110% hard stop keeps the total "
        f"under ${a.budget_usd:,.0f}: {q['ceiling']:,.0f}"
    )
    lat = latency(a, m)
    w = lat["wait"]
    print(
        f"latency, worst case = wait {w:.0f} s + the day's last cycle (target "
        f"{TARGET_LATENCY_S} s): plan {w + lat['plan']:.0f} s (seed-scale per-row cost "
        f"{w + lat['plan_seed']:.0f} s); as built {w + lat['built']:.0f} s "
        f"({w + lat['built_seed']:.0f} s)"
    )
    print(
        f"per cycle: {ingest_rows_per_cycle(a):,.0f} rows ingested, "
        f"{staged_rows_per_day(a) / 2:,.0f} staged rows re-read by dbt on average; per-row "
        f"cost per row in (laptop): Python {m.py_us:.1f} us, dbt {m.dbt_us:.1f} us (the curve); "
        f"at seed scale {m.stripe_us:.1f} us and {m.dbt_seed_us:.2f} us"
    )


def sensitivities(a: Assumptions, m: Measured) -> list[tuple[str, float, float]]:
    """(what if, total $/month, Snowflake credits a month)."""
    twice = dataclasses.replace(
        m,
        **{
            f.name: getattr(m, f.name) * (0.5 if f.name == "raw_mb_s" else 2)
            for f in dataclasses.fields(m)
        },
    )
    cases = [
        ("baseline", a, m),
        (
            "Snowflake 2x worse per node (sf_node_factor 0.5)",
            dataclasses.replace(a, sf_node_factor=0.5),
            m,
        ),
        ("every measured time 2x (slower workers)", a, twice),
        ("per-row costs at the curve's 95% upper bounds", a, m.upper()),
        ("per-row costs measured at seed scale (13.0 and 1.6 us)", a, m.at_seed_scale()),
        (
            "as built: each cycle rebuilds the Stripe and orders day",
            dataclasses.replace(a, day_rebuild=True),
            m,
        ),
        (
            "pipeline warehouse SMALL instead of MEDIUM",
            dataclasses.replace(a, pipeline_wh="SMALL"),
            m,
        ),
        ("BI warehouse up 24 h a day", dataclasses.replace(a, bi_hours_per_day=24), m),
        ("compression 4 instead of 5", dataclasses.replace(a, compression=4.0), m),
        ("storage at the capacity price, $23/TB", dataclasses.replace(a, storage_usd_tb=23.0), m),
        ("credits at $4 (Business Critical)", dataclasses.replace(a, credit_usd=4.0), m),
        (
            "no S3 gateway endpoint (NAT carries 60% of the bytes)",
            dataclasses.replace(a, nat_share=0.6),
            m,
        ),
        ("EKS instead of ECS", dataclasses.replace(a, eks=True), m),
    ]
    return [(name, total(a2, m2), credits_per_month(a2, m2)) for name, a2, m2 in cases]


def print_sensitivities(a: Assumptions, m: Measured) -> None:
    print("\n#### Sensitivity\n")
    print("| what if | total $/month | credits/month | under $18K |")
    print("|---|---:|---:|---|")
    for name, usd, credits in sensitivities(a, m):
        print(
            f"| {name} | {usd:,.0f} | {credits:,.0f} | {'yes' if usd <= a.budget_usd else 'NO'} |"
        )


def load_measured(path: Path) -> Measured:
    """The curve's inputs from a `bench/scaling.py` results JSON: fixed costs from the fits'
    intercepts, per-row costs from their slopes (and 95% upper bounds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scaling import best_runs, compute_fits

    runs = best_runs(json.loads(path.read_text())["results"])
    fits = compute_fits(runs)
    count = runs[0]["phase_runs"]
    us = 1e6
    return dataclasses.replace(
        Measured(),
        fixed_cycle_s=fits["daily"]["a"] + fits["dbt"]["a"],
        fixed_wms_run_s=fits["WMS hourly"]["a"] / count["WMS hourly"],
        fixed_small_run_s=fits["other runs"]["a"] / count["other runs"],
        py_us=(fits["py steps"]["b"] + fits["run ovh"]["b"]) * us,
        dbt_us=fits["dbt steps"]["b"] * us,
        py_us_upper=(fits["py steps"]["b_upper95"] + fits["run ovh"]["b_upper95"]) * us,
        dbt_us_upper=fits["dbt steps"]["b_upper95"] * us,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, help="take the curve from a bench/scaling.py JSON")
    args = parser.parse_args()
    a = Assumptions()
    m = load_measured(args.bench) if args.bench else Measured()
    print(
        f"measured: fixed cycle {m.fixed_cycle_s:.1f} s, WMS run {m.fixed_wms_run_s:.2f} s, "
        f"small run {m.fixed_small_run_s:.2f} s; per row in: Python {m.py_us:.1f} us, dbt "
        f"{m.dbt_us:.1f} us (95% upper bounds {m.py_us_upper:.1f}, {m.dbt_us_upper:.1f})"
    )
    print_tables(a, m)
    print_sensitivities(a, m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
