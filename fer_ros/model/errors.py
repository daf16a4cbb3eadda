"""The one error type for what a person can fix: a bad flag, file, input or output place.

Any layer raises ``UserError`` with a message that names the thing and says what is wrong;
the command line prints that message as one line and exits with status 2 (no traceback).
It lives in the bottom layer so that every layer can raise it. It is a ``ValueError``, so
callers that already catch ``ValueError`` for bad values keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix; the message is one line that says what and where."""


class OutputError(UserError):
    """An output could not be written (full disk, read-only folder, file size limit): the message
    names the file and says what the files written so far hold."""
