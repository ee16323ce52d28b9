"""The Slack and email alert sinks against real servers on loopback.

A stdlib HTTP server in a thread stands in for Slack's incoming webhook (it records every
request body and answers 200, or 500 to play a broken Slack); aiosmtpd is a real SMTP server.
A closed port plays a sink that is down. Expected payloads, subjects and bodies are written
out by hand below; the run-level tests go through `materialize_range` (the code path of
`northstar materialize`) on one hand-written Stripe day whose quarantine gate fails.
"""

import datetime as dt
import email
import email.policy
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from aiosmtpd.controller import Controller

from northstar_platform.lib.alert_sinks import EmailSink, SlackSink, deliver
from northstar_platform.lib.alerts import check_failed_alert
from northstar_platform.settings import SmtpSettings
from tests.stripe_cases import charge_succeeded, epoch

pytestmark = pytest.mark.integration

D1 = "2024-03-01"
ARRIVED = dt.datetime(2024, 3, 2, 6)
PAYMENTS = [
    dg.AssetKey(["raw", "raw_stripe_events"]),
    dg.AssetKey(["staging", "stg_stripe_events"]),
    dg.AssetKey(["staging", "quarantine_stripe"]),
]


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


@dataclass
class Webhook:
    """A recording HTTP server: every POST body, answered with `status`."""

    status: int = 200
    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    state = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.bodies.append(self.rfile.read(length))
            state.paths.append(self.path)
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok" if state.status == 200 else b"broken")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/s3cr3t-token"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received."""

    envelopes: list[Any] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def parsed(envelope: Any) -> email.message.EmailMessage:
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


# --------------------------------------------------------------------------------------------
# Each sink on its own
# --------------------------------------------------------------------------------------------

ALERT = check_failed_alert(
    asset_key="staging/stg_orders",
    check_name="quarantine_rate_within_threshold",
    partition_key="2026-03-01",
    metadata={"observed_rate": 0.1, "threshold": 0.05},
    run_id="run-42",
    ui_url="http://ui.example:3000",
    now=dt.datetime(2026, 3, 3, 12),
)
MESSAGE = (
    "quarantine_rate_within_threshold failed on staging/stg_orders [2026-03-01]: "
    "observed 0.1 vs threshold 0.05"
)


def test_slack_receives_every_fact_and_the_run_link(webhook: Webhook) -> None:
    delivery = deliver(SlackSink(webhook.url, timeout_s=2), ALERT, retries=2)
    assert (delivery.sink, delivery.status, delivery.attempts, delivery.error) == (
        "slack",
        "delivered",
        1,
        None,
    )
    [body] = webhook.bodies
    assert webhook.paths == ["/services/T000/B000/s3cr3t-token"]
    assert json.loads(body) == {
        "text": f"[northstar] {MESSAGE} <http://ui.example:3000/runs/run-42|run>",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{MESSAGE}*"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Asset*\nstaging/stg_orders"},
                    {"type": "mrkdwn", "text": "*Partition*\n2026-03-01"},
                    {"type": "mrkdwn", "text": "*Check*\nquarantine_rate_within_threshold"},
                    {"type": "mrkdwn", "text": "*Observed*\n0.1"},
                    {"type": "mrkdwn", "text": "*Threshold*\n0.05"},
                ],
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "<http://ui.example:3000/runs/run-42|Open the run in Dagster>",
                },
            },
        ],
    }


def test_email_names_check_and_asset_and_carries_every_fact(mailbox: Mailbox) -> None:
    sink = EmailSink(
        SmtpSettings(
            host="127.0.0.1",
            port=mailbox.port,
            sender="northstar@example.com",
            recipients=("oncall@example.com", "analytics@example.com"),
        ),
        timeout_s=2,
    )
    delivery = deliver(sink, ALERT, retries=2)
    assert (delivery.sink, delivery.status, delivery.attempts) == ("email", "delivered", 1)
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "northstar@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "analytics@example.com"]
    message = parsed(envelope)
    assert message["Subject"] == (
        "[northstar] quarantine_rate_within_threshold failed on staging/stg_orders [2026-03-01]"
    )
    assert message["To"] == "oncall@example.com, analytics@example.com"
    assert message.get_content().splitlines() == [
        MESSAGE,
        "",
        "Asset: staging/stg_orders",
        "Partition: 2026-03-01",
        "Check: quarantine_rate_within_threshold",
        "Observed: 0.1",
        "Threshold: 0.05",
        "Run: http://ui.example:3000/runs/run-42",
    ]


def test_a_broken_webhook_is_tried_once_plus_the_retries_and_its_url_never_recorded(
    webhook: Webhook,
) -> None:
    webhook.status = 500
    waits: list[float] = []
    delivery = deliver(SlackSink(webhook.url, timeout_s=2), ALERT, retries=3, sleep=waits.append)
    assert len(webhook.bodies) == 4
    assert waits == [0.25, 0.5, 1.0]
    assert (delivery.status, delivery.attempts, delivery.error) == (
        "failed",
        4,
        "HTTP 500 Internal Server Error",
    )


def test_an_unreachable_sink_is_retried_and_recorded_failed_without_secrets() -> None:
    port = free_port()
    secret_url = f"http://127.0.0.1:{port}/services/T000/B000/s3cr3t-token"
    slack = deliver(SlackSink(secret_url, timeout_s=1), ALERT, retries=2, sleep=lambda _: None)
    mail = deliver(
        EmailSink(
            SmtpSettings("127.0.0.1", port, "a@example.com", ("b@example.com",), "u", "pw-s3cr3t")
        ),
        ALERT,
        retries=2,
        sleep=lambda _: None,
    )
    assert (slack.status, slack.attempts) == ("failed", 3)
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert slack.error is not None and slack.error.startswith("ConnectionRefusedError")
    assert mail.error is not None and mail.error.startswith("ConnectionRefusedError")
    assert "s3cr3t" not in repr(SlackSink(secret_url)) + repr(slack) + repr(mail)


# --------------------------------------------------------------------------------------------
# Through a run: one failing check, one alert, one delivery per configured sink
# --------------------------------------------------------------------------------------------


@pytest.fixture
def failing_day(northstar_env: Path) -> Path:
    """Stripe day D1: one valid event and one line that is not JSON → 1 of 2 rows held, a
    quarantine rate of 0.5 against the default threshold 0.01."""
    path = northstar_env / "landing" / "stripe" / "2024" / "03" / "01" / "events.jsonl"
    path.parent.mkdir(parents=True)
    first = charge_succeeded(
        "evt_1",
        charge_id="ch_evt_1",
        order_id="o-1",
        amount=1250,
        created=epoch(dt.datetime(2024, 3, 1, 9)),
    )
    path.write_text(first + "\n{not json\n")
    stamp = ARRIVED.replace(tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return northstar_env


def materialize_day(home: Path) -> tuple[Any, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Run D1's Stripe assets; return the report, the alert rows and the delivery rows."""
    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range

    with dg.DagsterInstance.ephemeral() as instance:
        report = materialize_range(build_definitions(), instance, [D1], selection=PAYMENTS)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        alerts = con.execute(
            "select alert_id, kind, asset_key, partition_key, check_name, observed, threshold, "
            "run_url from ops.pipeline_alert_log"
        ).fetchall()
        deliveries = con.execute(
            "select alert_id, sink, status, attempts, error from ops.pipeline_alert_deliveries "
            "order by sink"
        ).fetchall()
    return report, alerts, deliveries


FAILED = [("staging/stg_stripe_events", "quarantine_rate_within_threshold")]


def test_a_failing_check_raises_one_alert_delivered_once_to_each_sink(
    failing_day: Path, webhook: Webhook, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_SLACK_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("NORTHSTAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NORTHSTAR_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("NORTHSTAR_ALERT_EMAIL_TO", "oncall@example.com")
    report, alerts, deliveries = materialize_day(failing_day)

    assert [(c.asset, c.check) for c in report.failed_checks] == FAILED
    [(alert_id, kind, asset, partition, check, observed, threshold, url)] = alerts
    assert (kind, asset, partition, check, observed, threshold) == (
        "check_failed",
        "staging/stg_stripe_events",
        D1,
        "quarantine_rate_within_threshold",
        "0.5",
        "0.01",
    )
    assert url.startswith("http://127.0.0.1:3000/runs/")
    assert deliveries == [
        (alert_id, "email", "delivered", 1, None),
        (alert_id, "slack", "delivered", 1, None),
    ]
    [body] = webhook.bodies
    fields = [f["text"] for f in json.loads(body)["blocks"][1]["fields"]]
    assert fields == [
        "*Asset*\nstaging/stg_stripe_events",
        f"*Partition*\n{D1}",
        "*Check*\nquarantine_rate_within_threshold",
        "*Observed*\n0.5",
        "*Threshold*\n0.01",
    ]
    assert f"<{url}|run>" in json.loads(body)["text"]
    [envelope] = mailbox.envelopes
    assert envelope.rcpt_tos == ["oncall@example.com"]
    assert parsed(envelope)["Subject"] == (
        f"[northstar] quarantine_rate_within_threshold failed on staging/stg_stripe_events [{D1}]"
    )
    assert f"Run: {url}" in parsed(envelope).get_content().splitlines()


def test_sinks_that_are_down_are_retried_recorded_failed_and_the_check_result_stands(
    failing_day: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook.status = 500
    monkeypatch.setenv("NORTHSTAR_SLACK_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("NORTHSTAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NORTHSTAR_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("NORTHSTAR_ALERT_EMAIL_TO", "oncall@example.com")
    monkeypatch.setenv("NORTHSTAR_ALERT_SINK_RETRIES", "1")
    report, alerts, deliveries = materialize_day(failing_day)

    assert [(c.asset, c.check) for c in report.failed_checks] == FAILED
    assert report.failures == []  # the check step did not crash: the run was only blocked
    assert len(webhook.bodies) == 2  # first attempt + 1 retry
    [alert] = alerts
    [(mail_id, *mail), (slack_id, *slack)] = deliveries
    assert mail_id == slack_id == alert[0]
    assert slack == ["slack", "failed", 2, "HTTP 500 Internal Server Error"]
    assert mail[:3] == ["email", "failed", 2]
    assert mail[3].startswith("ConnectionRefusedError")
    assert "s3cr3t" not in json.dumps(deliveries)
