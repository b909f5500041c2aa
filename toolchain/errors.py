"""User-facing errors: one line that names the bad value and the fix.

The CLI prints ``QsnnError`` as ``error: <message>`` and exits with code 2, without a traceback.
"""


class QsnnError(Exception):
    """An error caused by the user's input or environment, with the fix in the message."""

    exit_code = 2


class ToolNotFound(QsnnError):
    """A vendor tool (Vivado, Vitis HLS, g++) or a header set is not available on this machine."""


class ToolFailed(QsnnError):
    """A vendor tool ran and failed (or wrote nothing): the build stops at that step, with its logs named."""
