"""A permit for a call the app makes itself (a database driver, a vendor SDK)."""
from __future__ import annotations

import time
from typing import Optional

from levee._common import AttemptResult, BreakerState


class Permit:
    """Granted by `permit()`. The block's result is reported when it ends: a success, unless the block
    raised or `failed()`, `timed_out()` or `ignore()` said otherwise."""

    def __init__(self, upstream: str, permit_id: str, endpoint: str, lease: float, backoff: float):
        self.upstream = upstream
        self.id = permit_id
        #: The endpoint to call, when the upstream has endpoints configured ("" otherwise).
        self.endpoint = endpoint
        #: How long the permit stays valid, in seconds; past it the agent records a timeout.
        self.lease = lease
        #: For a retry (attempt > 0): how long to wait before making it, in seconds.
        self.backoff = backoff
        #: The breaker's state after the result was recorded (set when the block ends).
        self.breaker: Optional[BreakerState] = None
        self._result: Optional[AttemptResult] = None
        self._started = time.monotonic()

    def failed(self) -> None:
        """The call failed (the upstream's fault): the breaker counts it."""
        self._result = AttemptResult.FAILURE

    def timed_out(self) -> None:
        self._result = AttemptResult.TIMEOUT

    def ignore(self) -> None:
        """The outcome says nothing about the upstream (the caller gave up): not recorded."""
        self._result = AttemptResult.IGNORED

    def _outcome(self, raised: bool) -> AttemptResult:
        if self._result is not None:
            return self._result
        return AttemptResult.FAILURE if raised else AttemptResult.SUCCESS

    def _duration_us(self) -> int:
        return int((time.monotonic() - self._started) * 1e6)

    def __repr__(self) -> str:
        return f"Permit({self.upstream!r}, id={self.id!r}, endpoint={self.endpoint!r})"
