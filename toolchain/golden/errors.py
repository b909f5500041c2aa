"""The one user-facing error of the project: one line that names the bad value and the fix.

The CLI prints it as ``error: <message>`` and exits with ``exit_code``; the board driver wraps it in its
``DriverError``. It lives in the golden package because the integer model (a leaf, shipped alone to the
board) raises it too.
"""


class QsnnError(Exception):
    """An error caused by the user's input or environment, with the fix in the message."""

    exit_code = 2
