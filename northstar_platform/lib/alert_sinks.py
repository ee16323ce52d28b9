"""The alert sinks that leave the machine: a Slack incoming webhook and email over SMTP.

Pure Python (stdlib `urllib` and `smtplib`, no Dagster): every path that raises alerts hands
them to `deliver_all`, which tries each configured sink a few times with exponential backoff
and returns one `Delivery` per (alert, sink) for the caller to record in
`ops.pipeline_alert_deliveries`. A sink that is down costs a few seconds and a failed
delivery row, never an exception: an alert must not turn a check result into a crashed step.

The webhook URL is a secret (whoever has it can post to the channel): it never appears in a
delivery's error, a log line or a repr.
"""

import datetime as dt
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from northstar_platform.lib.alerts import Alert
from northstar_platform.settings import Settings, SmtpSettings

BACKOFF_BASE_S = 0.25
"""Wait before the first retry; each further retry waits twice as long (0.25 s, 0.5 s, ...)."""


class AlertSink(Protocol):
    """Something that sends one alert or raises."""

    name: str

    def send(self, alert: Alert) -> None:
        """Send `alert`; raise on any failure (the caller retries and records)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a recorded error."""
        ...


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert on one sink (a row of `ops.pipeline_alert_deliveries`)."""

    alert_id: str
    sink: str
    status: str
    """`delivered` or `failed`."""
    attempts: int
    error: str | None
    attempted_at: dt.datetime


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The facts every sink shows, in this order: label, value."""
    return [
        ("Asset", alert.asset_key),
        ("Partition", alert.partition_key or "-"),
        ("Check", alert.check_name),
        ("Observed", alert.observed if alert.observed is not None else "-"),
        ("Threshold", alert.threshold if alert.threshold is not None else "-"),
        ("Run", alert.run_url),
    ]


def slack_payload(alert: Alert) -> dict[str, object]:
    """The webhook's JSON: `text` (notifications, clients without blocks) and blocks with one
    field per fact and a link to the run."""
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{value}"}
        for label, value in facts(alert)
        if label != "Run"
    ]
    return {
        "text": f"[northstar] {alert.message} <{alert.run_url}|run>",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{alert.message}*"}},
            {"type": "section", "fields": fields},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{alert.run_url}|Open the run in Dagster>"},
            },
        ],
    }


def email_message(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A plain-text mail: the subject names the check and the asset, the body every fact."""
    message = EmailMessage()
    where = f" [{alert.partition_key}]" if alert.partition_key else ""
    message["Subject"] = f"[northstar] {alert.check_name} failed on {alert.asset_key}{where}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    body = [alert.message, "", *(f"{label}: {value}" for label, value in facts(alert))]
    message.set_content("\n".join(body) + "\n")
    return message


@dataclass(frozen=True)
class SlackSink:
    """A Slack incoming webhook: one HTTPS POST of `slack_payload` per alert."""

    url: str = field(repr=False)
    timeout_s: float = 5.0
    name: str = "slack"

    def send(self, alert: Alert) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(slack_payload(alert)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            response.read()

    def secrets(self) -> tuple[str, ...]:
        return (self.url,)


@dataclass(frozen=True)
class EmailSink:
    """Mail over SMTP (optionally STARTTLS and login), one message per alert, to the server
    and recipients of the settings' `SmtpSettings`."""

    smtp: SmtpSettings
    timeout_s: float = 5.0
    name: str = "email"

    def send(self, alert: Alert) -> None:
        server = self.smtp
        with smtplib.SMTP(server.host, server.port, timeout=self.timeout_s) as smtp:
            if server.starttls:
                smtp.starttls()
            if server.user:
                smtp.login(server.user, server.password or "")
            smtp.send_message(email_message(alert, server.sender, server.recipients))

    def secrets(self) -> tuple[str, ...]:
        return (self.smtp.password,) if self.smtp.password else ()


def configured_sinks(settings: Settings) -> list[AlertSink]:
    """The Slack and email sinks the settings turn on (none by default)."""
    sinks: list[AlertSink] = []
    if settings.slack_webhook_url:
        sinks.append(SlackSink(settings.slack_webhook_url, settings.alert_sink_timeout_s))
    if settings.smtp is not None:
        sinks.append(EmailSink(settings.smtp, settings.alert_sink_timeout_s))
    return sinks


def describe(exc: BaseException, secrets: Sequence[str]) -> str:
    """One line naming what went wrong, with every secret blanked out."""
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        text = f"{type(exc.reason).__name__}: {exc.reason}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return " ".join(text.split())[:500]


def deliver(
    sink: AlertSink,
    alert: Alert,
    *,
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None),
) -> Delivery:
    """Send `alert` to `sink`: one attempt plus up to `retries` more, waiting
    `BACKOFF_BASE_S * 2**n` before retry n + 1. Never raises."""
    attempted_at = now()
    error = None
    for attempt in range(1, retries + 2):
        try:
            sink.send(alert)
        except Exception as exc:  # any failure of a sink is recorded, never raised
            error = describe(exc, sink.secrets())
            if attempt <= retries:
                sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
            continue
        return Delivery(alert.alert_id, sink.name, "delivered", attempt, None, attempted_at)
    return Delivery(alert.alert_id, sink.name, "failed", retries + 1, error, attempted_at)


def deliver_all(
    alerts: Sequence[Alert],
    sinks: Sequence[AlertSink],
    *,
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Every alert to every sink, in order; one `Delivery` each."""
    return [deliver(sink, a, retries=retries, sleep=sleep) for a in alerts for sink in sinks]
