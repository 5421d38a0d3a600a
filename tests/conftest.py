"""Fixtures shared by tests/lesson/ (the lesson, autoencoder.py) and tests/lab/ (the package lab/):
small synthetic MNIST in torchvision's layout, the real one when it is here, and helpers that run
the script as a user would."""
import os
import re
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import autoencoder as ae  # noqa: E402  (after the path above)
from lab import errors, kinds  # noqa: E402

REAL_ROOT = REPO / "mnist"      # .ci/run links ../shared/mnist/MNIST into it
IDX_NAMES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
N_TRAIN, N_TEST = 2000, 200
LOSS_LINE = re.compile(r"^Epoch:  (\d+) \| train loss: (\d\.\d{4})\b", re.M)   # the tutorial's line


def write_idx(path, array):
    """An IDX file as on the MNIST site: zero, type 0x08 (uint8), rank, big-endian sizes, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def synthetic_digits(n, rng):
    """Ten classes, each a blurred blob at its own place on a ring, jittered and noisy."""
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:28, 0:28]
    angle = 2 * np.pi * labels / 10 + rng.normal(0, 0.05, n)
    cy, cx = 13.5 + 8 * np.sin(angle), 13.5 + 8 * np.cos(angle)
    blobs = np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 18)
    images = 255 * np.clip(blobs * rng.uniform(0.7, 1.0, (n, 1, 1)) + rng.normal(0, 0.03, blobs.shape), 0, 1)
    return images.astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="session")
def synthetic_mnist(tmp_path_factory):
    """A data root with <root>/MNIST/raw/ holding four IDX files; returns (root, {train: arrays})."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for train, n in ((True, N_TRAIN), (False, N_TEST)):
        images, labels = synthetic_digits(n, rng)
        write_idx(raw / IDX_NAMES[train][0], images)
        write_idx(raw / IDX_NAMES[train][1], labels)
        arrays[train] = (images, labels)
    return root, arrays


@pytest.fixture
def real_mnist():
    missing = [name for names in IDX_NAMES.values() for name in names
               if not (REAL_ROOT / "MNIST" / "raw" / name).exists()]
    if missing:
        pytest.skip(f"real MNIST is not in {REAL_ROOT}/MNIST/raw/ (missing {missing[0]}): "
                    "link ../shared/mnist/MNIST there or run autoencoder.py once to download it")
    return REAL_ROOT


def headless_env(**extra):
    """The environment of a machine with no screen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    return {**env, **extra}


def script(*args):
    """The command line of autoencoder.py; DeprecationWarnings are shown so that tests see them."""
    return [sys.executable, "-W", "default::DeprecationWarning", str(REPO / "autoencoder.py"),
            *map(str, args)]


def run_script(*args, cwd=REPO, env=None, timeout=300):
    """Run autoencoder.py as a user would, to its end."""
    return subprocess.run(script(*args), cwd=cwd, env=env or headless_env(), capture_output=True,
                          text=True, timeout=timeout)


def start_script(*args, env=None):
    """Start autoencoder.py as a real process whose lines arrive as soon as they are printed, as
    from a terminal: SIGHUP and SIGINT at their defaults, even when this test run was started
    under nohup (which ignores SIGHUP) or in the background by a script (`&` without job control
    ignores SIGINT), since a program keeps an ignored signal ignored. Killed after the test."""
    process = subprocess.Popen(script(*args), env={**(env or headless_env()), "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_signals if hasattr(signal, "SIGHUP") else None)
    STARTED.append(process)
    return process


def default_signals():
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """Ctrl-C (SIGINT) handled in this process as Python handles it from a terminal, for a test
    that sends it to main() here: a test run started in the background by a script inherits it
    ignored, and main() leaves an ignored signal ignored, as under nohup."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


STARTED = []    # processes of start_script: none outlives its test, even one that failed


@pytest.fixture(autouse=True)
def no_process_left_running():
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def layer_plan(sequential):
    """[(in, out), ...] of the Linear layers and the types of everything else, in order."""
    sizes = [(m.in_features, m.out_features) for m in sequential if isinstance(m, nn.Linear)]
    others = [type(m) for m in sequential if not isinstance(m, nn.Linear)]
    return sizes, others


def synthetic_images(synthetic_mnist):
    """The synthetic training images as the script trains on them: (2000, 784) in [0, 1]."""
    root, _ = synthetic_mnist
    return ae.to_float_images(ae.load_mnist(str(root), download=False)[0], torch.device("cpu"))


def train_epochs(images, epochs, batch_size, figure=None, model=None, flags=()):
    """What main() does: a model and optimizer from the flags, then train() once per epoch."""
    args = ae.parse_args(["--batch-size", str(batch_size), *flags])
    model = model or kinds.build(args, ae.AutoEncoder)
    optimizer = ae.make_optimizer(model, args.lr, args.weight_decay, args.optimizer)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(epochs):
        ae.train(args, model, optimizer, images, epoch, history, figure)
    return history


def flag_error(argv, capsys):
    """The UserError that parse_args raises for argv, checked to be a flag's (status 2) one line,
    printed by nobody but main(); and main() with the same argv printing exactly that line and
    exiting with status 2, as argparse does."""
    with pytest.raises(errors.UserError) as error:
        ae.parse_args(argv)
    message = error.value.message
    assert error.value.status == 2 and ": error: " in message and "\n" not in message, message
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as exit_info:
        ae.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message + "\n"
    return message
