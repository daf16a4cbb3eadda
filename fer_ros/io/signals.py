"""SIGINT and SIGTERM during a run: stop cleanly, close every output, exit 128 + the signal.

Installed by the command line (``fer-ros video`` and ``fer-ros bag``); the runners below it
(cli.video, ros.bag) mark where a signal must wait (``deferred``).

While ``stop_signals()`` is active, either signal raises ``Stopped`` in the main thread. Where
it is raised is chosen so that the outputs stay consistent:

- while the run waits for input (a camera, a FIFO, the next file), at once;
- while one frame is processed and written (inside ``deferred()``), at the end of that frame,
  so frames.jsonl and the annotated video never disagree by half a frame, and a bag record is
  never written in part.

The runner's ``finally`` then ends the stream (the engine closes open intervals with end
reason "stream stopped"), finalises the video and the plot, and the command exits with
130 (SIGINT) or 143 (SIGTERM): the shell's convention for "ended by that signal", so a
script or supervisor can tell a stopped run from a finished one (0) and from a user error (2).
A second signal while the outputs are being finalised is noted and ignored: finalising
takes a moment, and cutting it short is what would leave a broken video.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, like KeyboardInterrupt: ``except Exception`` lets it through)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _StopSignals:
    def __init__(self) -> None:
        self.pending: int | None = None  # the first stop signal received
        self.raised = False
        self.depth = 0  # nesting of deferred() sections

    def handler(self, signum: int, frame) -> None:
        if self.pending is None:
            self.pending = signum
        if self.depth == 0 and not self.raised:
            self.raised = True
            raise Stopped(signum)


_active: _StopSignals | None = None


@contextlib.contextmanager
def stop_signals(enabled: bool = True) -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Stopped`` (see the module's doc) until the block ends."""
    global _active
    if not enabled or threading.current_thread() is not threading.main_thread() or _active is not None:
        yield
        return
    state = _StopSignals()
    previous = {sig: signal.signal(sig, state.handler) for sig in STOP_SIGNALS}
    _active = state
    try:
        yield
    finally:
        _active = None
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deferred(raise_at_end: bool = True) -> Iterator[None]:
    """A stop signal arriving inside this block takes effect when it ends (no-op when no
    ``stop_signals`` is active, as when a library caller runs a front end). Once ``Stopped`` has
    been raised, later signals are noted and nothing more is raised: the outputs are closed in
    such a block. ``raise_at_end=False``: the signal stays pending, for the next block's end or
    ``raise_pending`` (when the code right after cannot take an exception yet)."""
    state = _active
    if state is None:
        yield
        return
    state.depth += 1
    try:
        yield
    finally:
        state.depth -= 1
    if raise_at_end:
        raise_pending()


def raise_pending() -> None:
    """Raise ``Stopped`` now if a stop signal is pending (outside any deferred block)."""
    state = _active
    if state is not None and state.depth == 0 and state.pending is not None and not state.raised:
        state.raised = True
        raise Stopped(state.pending)
