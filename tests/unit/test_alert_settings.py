"""Alert sink settings: off by default, on from the environment, one clear line per mistake,
and secrets never in a repr or an error."""

import pytest

from northstar_platform.errors import SettingsError
from northstar_platform.lib.alert_sinks import EmailSink, SlackSink, configured_sinks
from northstar_platform.settings import SmtpSettings, get_settings

WEBHOOK = "https://hooks.slack.com/services/T000/B000/xoxb-very-secret"
MAIL = {"NORTHSTAR_SMTP_HOST": "smtp.example.com", "NORTHSTAR_ALERT_EMAIL_TO": "a@example.com"}


def _error(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        get_settings(env)
    return str(info.value)


def test_no_external_sink_by_default() -> None:
    s = get_settings({})
    assert (s.slack_webhook_url, s.smtp, s.alert_sink_retries, s.alert_sink_timeout_s) == (
        None,
        None,
        2,
        5.0,
    )
    assert configured_sinks(s) == []


def test_every_sink_setting_is_read() -> None:
    s = get_settings(
        {
            "NORTHSTAR_SLACK_WEBHOOK_URL": WEBHOOK,
            "NORTHSTAR_SMTP_HOST": "smtp.example.com",
            "NORTHSTAR_SMTP_PORT": "587",
            "NORTHSTAR_SMTP_USER": "alerts",
            "NORTHSTAR_SMTP_PASSWORD": "pw-very-secret",
            "NORTHSTAR_SMTP_STARTTLS": "true",
            "NORTHSTAR_ALERT_EMAIL_FROM": "northstar@example.com",
            "NORTHSTAR_ALERT_EMAIL_TO": "a@example.com, b@example.com",
            "NORTHSTAR_ALERT_SINK_RETRIES": "0",
            "NORTHSTAR_ALERT_SINK_TIMEOUT_S": "1.5",
        }
    )
    assert s.smtp == SmtpSettings(
        host="smtp.example.com",
        port=587,
        sender="northstar@example.com",
        recipients=("a@example.com", "b@example.com"),
        user="alerts",
        password="pw-very-secret",
        starttls=True,
    )
    assert (s.alert_sink_retries, s.alert_sink_timeout_s) == (0, 1.5)
    assert configured_sinks(s) == [
        SlackSink(WEBHOOK, 1.5),
        EmailSink(
            SmtpSettings(
                "smtp.example.com",
                587,
                "northstar@example.com",
                ("a@example.com", "b@example.com"),
                "alerts",
                "pw-very-secret",
                True,
            ),
            1.5,
        ),
    ]
    shown = repr(s) + repr(configured_sinks(s))
    assert "very-secret" not in shown


def test_mail_defaults_port_25_a_local_sender_and_no_login() -> None:
    assert get_settings(MAIL).smtp == SmtpSettings(
        "smtp.example.com", 25, "northstar-alerts@localhost", ("a@example.com",)
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {**MAIL, "NORTHSTAR_SMTP_PORT": "twenty-five"},
            "NORTHSTAR_SMTP_PORT='twenty-five' is not a positive integer, e.g. 25",
        ),
        (
            {"NORTHSTAR_SMTP_HOST": "smtp.example.com"},
            "NORTHSTAR_ALERT_EMAIL_TO is not set; the email alert sink needs it with "
            "NORTHSTAR_SMTP_HOST",
        ),
        (
            {"NORTHSTAR_ALERT_EMAIL_TO": "a@example.com"},
            "NORTHSTAR_SMTP_HOST is not set; the email alert sink needs it with "
            "NORTHSTAR_ALERT_EMAIL_TO",
        ),
        (
            {**MAIL, "NORTHSTAR_ALERT_EMAIL_TO": "a@example.com, oncall"},
            "NORTHSTAR_ALERT_EMAIL_TO: 'oncall' is not an email address",
        ),
        (
            {**MAIL, "NORTHSTAR_SMTP_USER": "alerts"},
            "NORTHSTAR_SMTP_PASSWORD is not set; NORTHSTAR_SMTP_USER needs it",
        ),
        (
            {**MAIL, "NORTHSTAR_SMTP_STARTTLS": "maybe"},
            "NORTHSTAR_SMTP_STARTTLS='maybe': expected true or false",
        ),
        (
            {"NORTHSTAR_ALERT_SINK_RETRIES": "-1"},
            "NORTHSTAR_ALERT_SINK_RETRIES='-1' must be a whole number >= 0, e.g. 2",
        ),
        (
            {"NORTHSTAR_ALERT_SINK_TIMEOUT_S": "0"},
            "NORTHSTAR_ALERT_SINK_TIMEOUT_S='0' must be a positive number, e.g. 5.0",
        ),
    ],
)
def test_a_bad_sink_setting_names_the_variable(env: dict[str, str], message: str) -> None:
    assert _error(env) == message


def test_a_bad_webhook_url_is_refused_without_echoing_it() -> None:
    message = _error({"NORTHSTAR_SLACK_WEBHOOK_URL": "hooks.slack.com/xoxb-very-secret"})
    assert message == "NORTHSTAR_SLACK_WEBHOOK_URL must be an https:// URL"
