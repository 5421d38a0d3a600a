"""Choose settings without looking at the test set: each set of flags trains on the first 50,000
training images and is scored on the last 10,000, which it never trains on.

    python benchmarks/validate.py --data-dir ./mnist/ --epochs 1 -- "--conv" "--conv --lr 0.005"
    python benchmarks/validate.py --data-dir ./mnist/ --seeds 3 -- "--variational" "--variational --lr 0.005"

The runs' flags come after `--`, each in quotes ("" for the tutorial's).
Each run is the lesson's AutoEncoder (or the kind its flags ask for) trained by the lesson's
train(), as `python autoencoder.py` with those flags trains it, scored by the squared error per
pixel on the validation images after every epoch. The test files are never read: a number in
docs/ that chose a setting comes from here (or from `benchmarks/one_class.py --validate`), and the
test error is measured once, after the choice.
"""
import argparse
import contextlib
import io
import os
import statistics
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import autoencoder as ae  # noqa: E402  (after the path above)
from lab import checkpoints, errors, kinds, measures  # noqa: E402

N_VALIDATION = 10_000   # the last training images: scored, never trained on


def split(data_dir):
    """The training images as floats, cut in two: (the first 50,000, the last 10,000). The test
    set is not read."""
    images, _ = ae.load_mnist(data_dir, download=False)
    images = ae.to_float_images(images, torch.device("cpu"))
    return images[:-N_VALIDATION], images[-N_VALIDATION:]


def validate(flags, epochs, train, validation, seed=1):
    """The mean squared error per pixel on the validation images after each epoch of flags'
    network, trained on train as autoencoder.py would train it: [after epoch 1, ...]."""
    args = ae.parse_args([*flags.split(), "--epochs", str(epochs), "--seed", str(seed)])
    torch.manual_seed(seed)
    losses = []
    with contextlib.redirect_stdout(io.StringIO()):     # the runs' own lines
        model = kinds.build(args, ae.AutoEncoder)
        optimizer = ae.make_optimizer(model, args.lr, args.weight_decay, args.optimizer)
        history = checkpoints.new_history()
        for epoch in range(epochs):
            ae.train(args, model, optimizer, train, epoch, history)
            losses.append(measures.test_loss(model, validation))
    return losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("flags", nargs="+", help="after --, the flags of each run in quotes, as "
                        "autoencoder.py takes them (\"\" for the tutorial's)")
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--epochs", type=int, default=ae.EPOCH, help="epochs per run (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per set of flags, 1, 2, ... (default: 1)")
    args = parser.parse_args()
    with errors.in_one_line():  # a bad flag or missing MNIST: one line and its exit status
        for flags in args.flags:    # every flag checked before the first run
            ae.parse_args(flags.split())
        train, validation = split(args.data_dir)
    print(f"Trained on the first {len(train):,} training images, scored on the last {len(validation):,} "
          f"(validation MSE per pixel after {args.epochs} epochs):\n")
    print("| flags | validation MSE | seeds | seconds per run |")
    print("| --- | ---: | ---: | ---: |")
    for flags in args.flags:
        start = time.perf_counter()
        finals = [validate(flags, args.epochs, train, validation, seed)[-1] for seed in range(1, args.seeds + 1)]
        spread = f" ± {statistics.stdev(finals):.4f}" if len(finals) > 1 else ""
        shown = ", ".join(f"{loss:.4f}" for loss in finals) if len(finals) > 1 else ""
        print(f"| `{flags}` | {statistics.mean(finals):.4f}{spread}{f' ({shown})' if shown else ''} | "
              f"{len(finals)} | {(time.perf_counter() - start) / len(finals):.0f} |", flush=True)


if __name__ == "__main__":
    main()
