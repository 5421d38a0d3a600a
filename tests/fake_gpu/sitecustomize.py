"""A GPU that is not there, for tests/lab/test_cli.py. With this folder on PYTHONPATH, every
Python started imports this first, and torch.cuda.is_available() says True when the script's
device choice asks (lab/cli.py's available_devices; torch's own code, asking too, would try to use
the device), so that --device auto picks cuda. Anything put on that device then fails, as on a
machine without a driver: a test that runs under it passes only if it asked for --device cpu."""
import os
import sys

import torch

really_available = torch.cuda.is_available


def is_available():
    caller = sys._getframe(1).f_code.co_filename
    folder, name = os.path.split(os.path.abspath(caller))
    return (name == "cli.py" and os.path.basename(folder) == "lab") or really_available()


torch.cuda.is_available = is_available
