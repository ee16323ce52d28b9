"""Retries with exponential backoff, through a circuit breaker, for DSR lookups.

Only transient errors (a connection refused or dropped, a statement timeout, a locked file)
are retried; anything else (a missing column, a permission) is final at once. Every failed
attempt counts toward the source's circuit breaker, so once a source has failed
`failure_threshold` times in a row, further lookups stop immediately until the cool-down.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from northstar_platform.lib.dsr_circuit import CircuitBreaker, CircuitOpenError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` after the first attempt; waits `base_s`, 2·`base_s`, … capped at `max_s`."""

    retries: int = 2
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_s, self.base_s * 2 ** (attempt - 1))


class LookupFailedError(Exception):
    """A lookup that failed for good: the last error and how many attempts were made."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    is_transient: Callable[[BaseException], bool],
    on_retry: Callable[[int, BaseException, float], None] = lambda *_: None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`fn()` with retries; raises `LookupFailedError` (attempts made, 0 = circuit open)."""
    attempt = 0
    while True:
        try:
            breaker.before_call()
        except CircuitOpenError as exc:
            raise LookupFailedError(str(exc), attempt) from None
        attempt += 1
        try:
            result = fn()
        except Exception as exc:
            transient = is_transient(exc)
            if transient:
                breaker.record_failure()
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not transient or attempt > policy.retries:
                raise LookupFailedError(f"{type(exc).__name__}: {message}", attempt) from None
            wait = policy.delay(attempt)
            on_retry(attempt, exc, wait)
            sleep(wait)
            continue
        breaker.record_success()
        return result
