"""The one exception type a user can cause.

Anything raised as :class:`UserError` reaches the user as a single line on
stderr and a non-zero exit status (see :func:`voicecoach.cli.main`); every
other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: bad config, missing model, bad WAV, no device.

    The message is the whole story, in one line, ideally naming what to do.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
