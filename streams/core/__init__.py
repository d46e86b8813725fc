"""The functional core: per-borrower state and the pure step (no I/O, no clock)."""

from streams.core.state import BorrowerState
from streams.core.step import Policy, Rejection, advance, new_state, next_timer, next_wake, snapshot, step

__all__ = ["BorrowerState", "Policy", "Rejection", "advance", "new_state", "next_timer", "next_wake", "snapshot",
           "step"]
