"""The console script's entry point: a Ctrl-C at any moment ends it with one line, never a traceback.

``mesa-batch`` (and ``python -m mesa_batch``) start here, with nothing imported yet but this
module and the package's lazy front (:mod:`mesa_batch`); the command line, Mesa and pandas are
imported inside :func:`main`, where a Ctrl-C while they load is caught like one during a sweep
(exit code 130). A Ctrl-C before Python runs this module at all (its own start-up, a few tens
of milliseconds) is Python's.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # loaded at start-up (signal imports enum)
import sys

#: The exit code of a command stopped by Ctrl-C (128 + SIGINT), as documented in docs/cli.md.
INTERRUPTED = 130

#: Seconds an interrupted command may take to exit (joining threads, atexit handlers such as
#: the pool's shutdown) before it ends at once: a Ctrl-C that came while a pool was half-made
#: must not leave the command waiting on it.
EXIT_GRACE = 15.0


#: Set when a SIGINT arrived (see :func:`sigint_seen`).
_SEEN: list[bool] = []


def _on_sigint(signum: int, frame: object) -> None:
    """Python's own Ctrl-C handler (raise KeyboardInterrupt), remembering that it came."""
    _SEEN.append(True)
    raise KeyboardInterrupt


def sigint_seen() -> bool:
    """Whether a Ctrl-C reached this command (even one a library turned into something else).

    A library's import can catch the KeyboardInterrupt of a Ctrl-C and raise its own error
    (numpy: ``ImportError: numpy._core.umath failed to import``), or drop it: the command then
    still stops as interrupted, not with that error or by running the sweep.
    """
    return bool(_SEEN)


def main() -> None:
    """Run the command line; a Ctrl-C while it loads (or after it returns) exits 130 quietly."""
    reported = False
    try:  # noqa: SIM105 - contextlib is not loaded yet: nothing imported before the handler
        _signal.signal(_signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread (a test calling main): Python's handler stays
        pass
    try:
        from mesa_batch import cli  # noqa: PLC0415 - inside the try

        try:
            cli.main()
        finally:
            reported = cli.reported_interruption
    except KeyboardInterrupt:
        _interrupted(say=True)
        raise SystemExit(INTERRUPTED) from None
    except Exception:
        if not sigint_seen():
            raise
        # a Ctrl-C turned into another error on its way (see sigint_seen): still a Ctrl-C
        _interrupted(say=not reported)
        raise SystemExit(INTERRUPTED) from None
    except SystemExit as stop:
        # typer turns a Ctrl-C outside the commands' own handling into a silent exit 130
        if stop.code == INTERRUPTED:
            _interrupted(say=not reported)
        raise


def _interrupted(*, say: bool) -> None:
    """An interrupted command: its one line (unless the command said it), then a bounded exit."""
    if say:
        _say_interrupted()
    _end_within_grace()


def _end_within_grace() -> None:
    """End the process with exit code 130 if it has not exited :data:`EXIT_GRACE` s from now."""
    import os  # noqa: PLC0415
    import threading  # noqa: PLC0415

    timer = threading.Timer(EXIT_GRACE, os._exit, (INTERRUPTED,))
    timer.daemon = True  # it runs while the interpreter joins threads and runs atexit handlers
    timer.start()


def not_started(command: str) -> str:
    """The line of a command interrupted before any run started (here and in the commands)."""
    return f"interrupted before any run started. Run it with: {command}"


def _say_interrupted() -> None:
    import shlex  # noqa: PLC0415 - not before main's handler (it imports re)

    sys.stderr.write(not_started(shlex.join(["mesa-batch", *sys.argv[1:]])) + "\n")
    sys.stderr.flush()
