"""The Dagster UI loads the code location from the repo root and serves the whole lineage."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from northstar_platform.defs.dbt_project import ensure_manifest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
LINEAGE_QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
EXPECTED_EDGES = {
    ("landing/orders", ""),
    ("raw/raw_orders", "landing/orders"),
    ("staging/stg_orders", "raw/raw_orders"),
    ("staging/quarantine_orders", "raw/raw_orders"),
    # The dbt models of the order reconciliation (each model's ref()s and source()s).
    ("curated/orders_latest", "staging/stg_orders"),
    ("curated/payments_latest", "staging/stg_stripe_events"),
    ("curated/shipments_latest", "staging/stg_wms_shipments"),
    ("audit/audit_order_mismatches", "curated/orders_latest"),
    ("audit/audit_order_mismatches", "curated/payments_latest"),
    ("audit/audit_order_mismatches", "curated/shipments_latest"),
    ("curated/int_revenue_daily", "curated/orders_latest"),
    ("curated/int_revenue_daily", "audit/audit_order_mismatches"),
    ("audit/audit_revenue_variance", "curated/int_revenue_daily"),
    ("audit/audit_revenue_variance", "staging/stg_finance_revenue"),
    ("audit/audit_publication_gates", "curated/orders_latest"),
    ("audit/audit_publication_gates", "curated/customers_latest"),
    ("audit/audit_publication_gates", "audit/audit_order_mismatches"),
    ("audit/audit_publication_gates", "audit/audit_revenue_variance"),
    ("marts/fct_orders", "curated/orders_latest"),
    ("marts/fct_orders", "curated/payments_latest"),
    ("marts/fct_orders", "curated/shipments_latest"),
    ("marts/fct_orders", "audit/audit_order_mismatches"),
    ("marts/fct_orders", "audit/audit_publication_gates"),
    ("marts/fct_daily_revenue", "curated/int_revenue_daily"),
    ("marts/fct_daily_revenue", "audit/audit_publication_gates"),
    ("marts/fct_fulfillment", "curated/shipments_latest"),
    ("marts/fct_fulfillment", "curated/orders_latest"),
    ("marts/fct_fulfillment", "audit/audit_publication_gates"),
    ("bi/fct_orders", "marts/fct_orders"),
    ("bi/fct_daily_revenue", "marts/fct_daily_revenue"),
    ("bi/fct_fulfillment", "marts/fct_fulfillment"),
    # The root-cause counts read the order audit (northstar explain's rules).
    ("audit/audit_root_cause", "audit/audit_order_mismatches"),
    # The preference reconciliation's dbt models (and the scope seed).
    ("curated/ref_channel_product_scope", ""),
    ("curated/privacy_latest", "staging/stg_privacy_events"),
    ("curated/core_latest", "curated/core_preferences_latest"),
    ("audit/audit_preference_mismatches", "curated/privacy_latest"),
    ("audit/audit_preference_mismatches", "curated/core_latest"),
    ("audit/audit_preference_mismatches", "staging/stg_privacy_events"),
    ("audit/audit_preference_mismatches", "curated/core_preferences_latest"),
    ("audit/audit_preference_mismatches", "curated/ref_channel_product_scope"),
    ("remediation/remediation_core_updates", "audit/audit_preference_mismatches"),
    ("remediation/core_update_exports", "remediation/remediation_core_updates"),
    ("remediation/core_update_exports", "audit/audit_preference_mismatches"),
    ("remediation/core_update_acks", "remediation/core_update_exports"),
    ("raw/raw_stripe_events", ""),
    ("staging/stg_stripe_events", "raw/raw_stripe_events"),
    ("staging/quarantine_stripe", "raw/raw_stripe_events"),
    ("raw/raw_wms_shipments", ""),
    ("staging/stg_wms_shipments", "raw/raw_wms_shipments"),
    ("staging/quarantine_wms", "raw/raw_wms_shipments"),
    ("raw/raw_finance_revenue", ""),
    ("staging/stg_finance_revenue", "raw/raw_finance_revenue"),
    ("staging/quarantine_finance", "raw/raw_finance_revenue"),
    ("raw/raw_privacy_events", ""),
    ("staging/stg_privacy_events", "raw/raw_privacy_events"),
    ("staging/quarantine_privacy", "raw/raw_privacy_events"),
    # Data-subject request discovery (one partition per request; reads the PII catalog).
    ("dsr/dsr_discovery", ""),
    ("ops/parity_report", ""),
    # The PostgreSQL sync of each table in northstar_platform/sync_tables.json.
    *(
        edge
        for table in ("customers", "core_preferences")
        for edge in (
            (f"landing/{table}", ""),
            (f"raw/raw_{table}", f"landing/{table}"),
            (f"curated/{table}_latest", f"raw/raw_{table}"),
            (f"staging/quarantine_{table}", f"raw/raw_{table}"),
        )
    ),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_webserver_serves_every_asset_and_edge(northstar_env: Path) -> None:
    ensure_manifest()
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True)
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    server = subprocess.Popen(
        [
            str(bin_dir / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        nodes: list = []
        while time.monotonic() < deadline and not nodes:
            time.sleep(1)
            if server.poll() is not None:
                output = server.stdout.read().decode() if server.stdout else ""
                pytest.fail(f"dagster-webserver exited early:\n{output[-2000:]}")
            try:
                nodes = _graphql(port, LINEAGE_QUERY)["data"]["assetNodes"]
            except OSError:
                continue
        edges = set()
        for node in nodes:
            key = "/".join(node["assetKey"]["path"])
            deps = ["/".join(d["path"]) for d in node["dependencyKeys"]] or [""]
            edges.update((key, dep) for dep in deps)
        assert edges == EXPECTED_EDGES
        errors = _graphql(
            port,
            "{ workspaceOrError { ... on Workspace { locationEntries { name "
            "locationOrLoadError { __typename } } } } }",
        )
        entries = errors["data"]["workspaceOrError"]["locationEntries"]
        assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
            ("northstar_platform", "RepositoryLocation")
        ]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
