"""The console script's entry point: a Ctrl-C at any moment ends it with one line, never a traceback.

``mesa-batch`` (and ``python -m mesa_batch``) start here, with nothing imported yet but this
module and the package's lazy front (:mod:`mesa_batch`); the command line, Mesa and pandas are
imported inside :func:`main`, where a Ctrl-C while they load is caught like one during a sweep
(exit code 130). A Ctrl-C before Python runs this module at all (its own start-up, a few tens
of milliseconds) is Python's.
"""

from __future__ import annotations

import sys

#: The exit code of a command stopped by Ctrl-C (128 + SIGINT), as documented in docs/cli.md.
INTERRUPTED = 130


def main() -> None:
    """Run the command line; a Ctrl-C while it loads (or after it returns) exits 130 quietly."""
    reported = False
    try:
        from mesa_batch import cli  # noqa: PLC0415 - inside the try

        try:
            cli.main()
        finally:
            reported = cli.reported_interruption
    except KeyboardInterrupt:
        _say_interrupted()
        raise SystemExit(INTERRUPTED) from None
    except SystemExit as stop:
        # typer turns a Ctrl-C outside the commands' own handling into a silent exit 130
        if stop.code == INTERRUPTED and not reported:
            _say_interrupted()
        raise


def _say_interrupted() -> None:
    import shlex  # noqa: PLC0415 - not before main's handler (it imports re)

    again = shlex.join(["mesa-batch", *sys.argv[1:]])
    sys.stderr.write(f"interrupted before any run started. Run it with: {again}\n")
    sys.stderr.flush()
