"""One way out for what a user causes: a bad flag, data file, folder or checkpoint, or a stop they
asked for, raises UserError with its one line; the entry point, autoencoder.main(), turns it
into that line on stderr and the exit status, without a traceback."""
import contextlib
import os
import sys


class UserError(Exception):
    """message: the one line that says what is wrong and what to do (None: said already);
    status: the exit status, 1 for a mistake, 2 for a flag (as argparse), 128 + N for signal N."""
    def __init__(self, message, status=1):
        super().__init__(message)
        self.message, self.status = message, status


@contextlib.contextmanager
def in_one_line():
    """A UserError inside ends the run as sys.exit(message) would: the line, then the status."""
    try:
        yield
    except UserError as err:
        if err.status == 1 and err.message:
            raise SystemExit(err.message) from None     # Python prints it to stderr, exit 1
        if err.message:
            say(err.message)
        raise SystemExit(err.status) from None


def say(message):
    """Print to stderr; if the terminal was closed (SIGHUP), go on without a word until the run
    ends (signals.StopOnCtrlC puts the streams back)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")
