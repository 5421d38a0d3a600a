"""Ctrl-C, SIGTERM and SIGHUP during a run: the first asks training to stop after its step so that
the model is saved; a second one, or one after training, ends the run at once."""
import signal
import sys

from lab.errors import UserError, say

class StopOnCtrlC:
    """Inside `with`, the first Ctrl-C, or SIGTERM or SIGHUP (`kill`, `docker stop`, a closed
    terminal), asks training to stop after the current step so that the model can be saved;
    a second one, or one after training, ends the run at once. Exit code: 128 + its number."""
    requested, epoch, step, signum, training = False, None, None, None, True
    SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
               if hasattr(signal, name)]    # Windows has no SIGHUP
    QUIT = "Interrupted: quit without saving the last steps."

    def __enter__(self):    # a signal ignored already, as under nohup, stays ignored
        self.previous = {signum: signal.signal(signum, self.ask) for signum in self.SIGNALS
                         if signal.getsignal(signum) is not signal.SIG_IGN}
        self.streams = sys.stdout, sys.stderr   # errors.say() may silence them: a notebook keeps its own
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        sys.stdout, sys.stderr = self.streams

    def ask(self, signum, frame):
        if self.requested:
            raise UserError("\n" + self.QUIT, 128 + signum)
        if not self.training:
            raise UserError("\nInterrupted: quit before every picture was written; the checkpoint "
                            "holds the trained model.", 128 + signum)
        self.requested, self.signum = True, signum
        name, again = ("Ctrl-C", "press Ctrl-C") if signum == signal.SIGINT else (
            signal.Signals(signum).name, "send it")
        say(f"\n{name}: stopping after this step to save the model ({again} again to quit "
            "without saving)")

    def where(self):
        return f"in epoch {self.epoch} at step {self.step}" if self.step is not None else "after training"
