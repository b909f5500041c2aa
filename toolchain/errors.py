"""User-facing errors: one line that names the bad value and the fix.

The CLI prints ``QsnnError`` as ``error: <message>`` and exits with code 2, without a traceback. The class
itself is the golden model's (toolchain/golden/errors.py): one class, raised by every layer of the project.
"""

from toolchain.golden.errors import QsnnError

__all__ = ["QsnnError", "ToolFailed", "ToolNotFound"]


class ToolNotFound(QsnnError):
    """A vendor tool (Vivado, Vitis HLS, g++) or a header set is not available on this machine."""


class ToolFailed(QsnnError):
    """A vendor tool ran and failed (or wrote nothing): the build stops at that step, with its logs named."""
