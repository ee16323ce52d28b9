"""The DSR library's pure parts: circuit breaker states, backoff, catalog and request checks."""

import json

import pytest

from northstar_platform.errors import InputFileError
from northstar_platform.lib.dsr_catalog import CatalogError, parse_catalog
from northstar_platform.lib.dsr_circuit import CircuitBreaker
from northstar_platform.lib.dsr_requests import parse_request, priority
from northstar_platform.lib.dsr_retry import LookupFailedError, RetryPolicy, call_with_retry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_three_failures_and_half_opens_after_the_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker("pg", failure_threshold=3, cool_down_s=60, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 59.9
    assert breaker.state == "open"
    clock.now = 60.0
    assert breaker.state == "half-open"
    breaker.record_failure()  # the trial failed: open for another cool-down
    assert (breaker.state, breaker.trips) == ("open", 2)
    clock.now = 120.0
    breaker.record_success()
    assert (breaker.state, breaker.failures) == ("closed", 0)


def test_retry_backs_off_exponentially_and_stops_at_the_open_circuit() -> None:
    waits: list[float] = []
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ConnectionError("refused")

    breaker = CircuitBreaker("pg", failure_threshold=3, clock=Clock())
    with pytest.raises(LookupFailedError) as first:
        call_with_retry(failing, policy=RetryPolicy(retries=5, base_s=0.5), breaker=breaker,
                        is_transient=lambda e: True, sleep=waits.append)  # fmt: skip
    assert (len(calls), first.value.attempts, waits) == (3, 3, [0.5, 1.0, 2.0])
    with pytest.raises(LookupFailedError) as second:
        call_with_retry(failing, policy=RetryPolicy(), breaker=breaker,
                        is_transient=lambda e: True, sleep=waits.append)  # fmt: skip
    assert (len(calls), second.value.attempts) == (3, 0)
    assert "circuit for pg is open" in str(second.value)


def test_a_non_transient_error_is_not_retried() -> None:
    breaker = CircuitBreaker("wh", clock=Clock())
    with pytest.raises(LookupFailedError) as failed:
        call_with_retry(lambda: 1 / 0, policy=RetryPolicy(), breaker=breaker,
                        is_transient=lambda e: False, sleep=lambda s: None)  # fmt: skip
    assert (failed.value.attempts, breaker.failures) == (1, 0)


def test_catalog_errors_name_the_entry() -> None:
    doc = {"version": 1, "systems": {"postgres": {"public.customers": {"email": "mail"}}}}
    with pytest.raises(CatalogError, match=r"cat.json: systems.postgres.public.customers.email"):
        parse_catalog(doc, "cat.json")
    doc = {"version": 1, "systems": {"postgres": {"customers": {"email": "email"}}}}
    with pytest.raises(CatalogError, match=r"expected `schema\.table`"):
        parse_catalog(doc, "cat.json")


def test_request_files_are_validated_naming_file_and_field() -> None:
    key = "dsr/requests/r-1.json"
    good = {"request_id": "r-1", "kind": "access", "subject": {"customer_id": "C1"},
            "received_at": "2026-11-01T12:00:00+02:00"}  # fmt: skip
    request = parse_request(key, json.dumps(good).encode())
    assert (request.customer_ids, request.received_at.hour) == (("C1",), 10)
    for field, value, message in [
        ("kind", "delete", "kind 'delete' must be access or erasure"),
        ("request_id", "r-2", "must equal the file name"),
        ("subject", {"phone": "1"}, "subject must hold an email and/or a customer_id"),
        ("received_at", "yesterday", "is not an ISO-8601 timestamp"),
    ]:
        with pytest.raises(InputFileError, match=f"{key}: .*{message}"):
            parse_request(key, json.dumps({**good, field: value}).encode())


def test_priority_rises_as_the_deadline_nears() -> None:
    import datetime as dt

    now = dt.datetime(2026, 12, 1)
    days = [priority(now + dt.timedelta(days=d), now) for d in (29.5, 10, 0.5, -3)]
    assert days == [71, 90, 100, 100]
