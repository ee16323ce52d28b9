"""A circuit breaker per source system, so a failing source is not hammered.

After `failure_threshold` consecutive failed calls the circuit opens: calls are refused at
once (the lookup is dead-lettered instead of waiting on a dead server). After `cool_down_s`
one trial call is let through (half-open): success closes the circuit, failure opens it for
another cool-down. The clock is injectable so the states can be tested without sleeping.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class CircuitOpenError(Exception):
    """A call refused because the source's circuit is open."""


@dataclass
class CircuitBreaker:
    """Consecutive-failure breaker with a cool-down."""

    name: str
    failure_threshold: int = 3
    cool_down_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trips: int = field(default=0)
    """How many times the circuit opened (for run metadata)."""

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cool_down_s else "open"

    def before_call(self) -> None:
        """Raise `CircuitOpenError` while the circuit is open (not yet cooled down)."""
        if self.state == "open":
            assert self.opened_at is not None
            left = self.cool_down_s - (self.clock() - self.opened_at)
            raise CircuitOpenError(
                f"circuit for {self.name} is open after {self.failures} consecutive failures; "
                f"retrying after the cool-down ({left:.0f} s left)"
            )

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        """A call failed: open the circuit at the threshold (or again after a failed trial)."""
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            self.trips += 1
