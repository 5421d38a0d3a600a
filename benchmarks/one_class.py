"""The one-class MNIST table: train on one digit only, then spot the other nine by the error.

    python benchmarks/one_class.py --data-dir ./mnist/                # 10 digits x 3 seeds
    python benchmarks/one_class.py --data-dir ./mnist/ --seeds 1      # a quicker look
    python benchmarks/one_class.py --data-dir ./mnist/ --validate "--code-size 8"   # try flags

Each run is `autoencoder.py --train-digits D --seed S` with the flags of RECIPE below, as its own
process, the command a learner would type; the benchmark reads its metrics.json. It prints a
markdown table of the AUROC (in %, the mean and the spread over the seeds) of each normal digit
beside the two rows of Ruff et al. (2018) quoted below, and draws docs/one_class.png: the AUROC of
each test digit (columns) against each normal digit (rows).

RECIPE was chosen with --validate, which never looks at the test set: it trains on the first
50,000 training images of the digit and scores the last 10,000 training images, all digits.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import autoencoder as ae  # noqa: E402  (after the path above)
from lab import anomaly, checkpoints, errors, kinds, measures  # noqa: E402

# the flags of every run, beside --train-digits and --seed; chosen with --validate (see above)
RECIPE = "--hidden 256,64 --code-size 32 --activation relu --lr 0.001 --epochs 30"
SEEDS = (1, 2, 3)
# Ruff et al., "Deep One-Class Classification", ICML 2018, Table 1, MNIST, AUROC in %, normal
# digits 0 to 9, as quoted by this project's issue (the paper itself could not be read here)
RUFF = {"DCAE (Ruff et al.'s autoencoder baseline)": [97.6, 98.3, 85.4, 86.7, 86.5, 78.2, 94.6, 92.3, 86.5, 90.4],
        "one-class Deep SVDD (Ruff et al.)": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5]}


def run(digit, seed, data_dir, out_dir, flags=RECIPE):
    """One run of autoencoder.py on one digit; returns its metrics.json."""
    command = [sys.executable, os.path.join(REPO, "autoencoder.py"), "--no-show", "--no-gif",
               "--data-dir", data_dir, "--out-dir", out_dir, "--train-digits", str(digit),
               "--seed", str(seed), *flags.split()]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr.strip()}")
    with open(os.path.join(out_dir, "metrics.json")) as f:
        return json.load(f)


def validate(digit, seed, data_dir, flags):
    """The AUROC of flags on a split of the training set: trained on the first 50,000 images'
    copies of digit, tested on the last 10,000 images. The test set is never read."""
    args = ae.parse_args(["--data-dir", data_dir, "--seed", str(seed), *flags.split()])
    torch.manual_seed(seed)
    images, labels = ae.load_mnist(data_dir, download=False)
    images = ae.to_float_images(images, torch.device("cpu"))
    train = images[:50_000][labels[:50_000] == digit]
    with contextlib.redirect_stdout(io.StringIO()):     # the runs' own lines
        model = kinds.build(args, ae.AutoEncoder)
        optimizer = ae.make_optimizer(model, args.lr, args.weight_decay)
        history = checkpoints.new_history()
        for epoch in range(args.epochs):
            ae.train(args, model, optimizer, train, epoch, history)
    scores = measures.per_image_loss(model, images[50_000:], args.loss)
    return anomaly.auroc(scores, labels[50_000:] != digit)


def table(results, seeds):
    """A markdown table: our mean AUROC of each normal digit (and its spread), then Ruff et al.'s."""
    head = "| | " + " | ".join(map(str, range(10))) + " | mean |"
    lines = [head, "| --- |" + " ---: |" * 11]
    ours = [[100 * m["anomaly_auroc"] for m in results[d]] for d in range(10)]
    cells = [f"{statistics.mean(a):.1f} ± {statistics.stdev(a):.1f}" if len(a) > 1 else f"{a[0]:.1f}"
             for a in ours]
    means = [statistics.mean(a) for a in ours]
    lines.append(f"| this autoencoder, `{RECIPE}`, {len(seeds)} seeds | " + " | ".join(cells)
                 + f" | **{statistics.mean(means):.1f}** |")
    for name, row in RUFF.items():
        lines.append(f"| {name} | " + " | ".join(f"{x:.1f}" for x in row)
                     + f" | {statistics.mean(row):.1f} |")
    return "\n".join(lines)


def draw(results, path):
    """docs/one_class.png: the mean AUROC of each test digit against each normal digit."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    grid = np.full((10, 10), np.nan)
    for d in range(10):
        for other in range(10):
            if other != d:
                grid[d, other] = 100 * np.mean([m["anomaly_auroc_by_digit"][other] for m in results[d]])
    fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    image = ax.imshow(grid, cmap="viridis", vmin=min(80, np.nanmin(grid)), vmax=100)
    for d in range(10):
        for other in range(10):
            if other != d:
                ax.text(other, d, f"{grid[d, other]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if grid[d, other] < 92 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="the unseen test digit",
           ylabel="the digit it was trained on")
    ax.set_title("AUROC (%) of the reconstruction error for telling each unseen digit\n"
                 "from the trained one, on the test set", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds per digit (default: 3)")
    parser.add_argument("--validate", metavar="FLAGS",
                        help="score these flags on the training set's split instead, one seed")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.validate is not None:
        with errors.in_one_line():  # a bad flag or missing MNIST: one line and its exit status
            aurocs = [validate(d, SEEDS[0], args.data_dir, args.validate) for d in range(10)]
        print(f"`{args.validate}` on the validation split: "
              + " | ".join(f"{d} {100 * a:.1f}" for d, a in enumerate(aurocs))
              + f" | mean {100 * statistics.mean(aurocs):.1f} ({time.perf_counter() - start:.0f} s)")
        return
    seeds = SEEDS[:args.seeds]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for d in range(10):
            results[d] = [run(d, seed, args.data_dir, os.path.join(tmp, f"{d}-{seed}")) for seed in seeds]
            print(f"digit {d}: AUROC " + ", ".join(f"{m['anomaly_auroc']:.3f}" for m in results[d]),
                  file=sys.stderr, flush=True)
    print(table(results, seeds))
    draw(results, os.path.join(REPO, "docs", "one_class.png"))
    print(f"\n{10 * len(seeds)} runs in {(time.perf_counter() - start) / 60:.1f} min; "
          "wrote docs/one_class.png")


if __name__ == "__main__":
    main()
