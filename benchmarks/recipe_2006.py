"""How the 2006 recipe was chosen: the paper's network, 784-1000-500-250-30, trained for a few
epochs with one thing changed at a time, each scored on a validation split of the training images;
the test set is never read.

    python benchmarks/recipe_2006.py --data-dir ./mnist/                 # 8 runs of 12 epochs: ~20 min here
    python benchmarks/recipe_2006.py --data-dir ./mnist/ --recipe-metrics results/2006/metrics.json

Each run trains the lesson's AutoEncoder with the lesson's train() on the first 50,000 training
images and scores the last 10,000 after every epoch, by benchmarks/validate.py's functions.
It prints a markdown table of the squared error per validation image (the sum over 784 pixels, the
unit of Hinton & Salakhutdinov, 2006) after the last epoch, with the flags of each run, names the
run with the lowest: the recipe (`hinton2006` in lab/recipes.py) takes its flags, for 40 epochs,
and its test error is measured once, by `python autoencoder.py --recipe hinton2006`. It draws the
validation error of every epoch into docs/recipe_2006.png; --recipe-metrics adds the test curve of
that full run (its metrics.json), drawn apart: it chose nothing.
"""
import argparse
import json
import os
import sys
import time

import matplotlib
import matplotlib.ticker
matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validate  # noqa: E402  (after the path above)
from validate import REPO  # noqa: E402
from lab import errors, measures  # noqa: E402

PAPER = "--hidden 1000,500,250 --code-size 30 --batch-size 128"
RUNS = [    # (what changed, flags): one change at a time, from Adam as the tutorial uses it
    ("ReLU, lr 0.001, constant", "--activation relu --lr 0.001"),
    ("ReLU, lr 0.001, one-cycle", "--activation relu --lr 0.001 --schedule onecycle"),
    ("ELU, lr 0.001, one-cycle", "--activation elu --lr 0.001 --schedule onecycle"),
    ("ELU, lr 0.002, constant", "--activation elu --lr 0.002"),
    ("ELU, lr 0.002, one-cycle", "--activation elu --lr 0.002 --schedule onecycle"),
    ("ELU, lr 0.002, cosine", "--activation elu --lr 0.002 --schedule cosine"),
    ("ELU, lr 0.002, one-cycle, cross-entropy", "--activation elu --lr 0.002 --schedule onecycle "
                                                "--loss bce"),
    ("logistic units, lr 0.002, one-cycle", "--activation sigmoid --lr 0.002 --schedule onecycle"),
]
SEED = 1


def scores(flags, epochs, train, validation):
    """The squared error per validation image (the paper's unit) after each epoch of flags."""
    return [measures.per_image(loss) for loss in validate.validate(flags, epochs, train, validation, SEED)]


def table(results, epochs):
    lines = [f"784-1000-500-250-30, batch 128, {epochs} epochs each, seed {SEED}, trained on the "
             f"first 50,000 training images, scored on the last 10,000:\n",
             "| what changed | flags | squared error per validation image | wall time |",
             "| --- | --- | ---: | ---: |"]
    best = min(results, key=lambda r: r[2][-1])
    for name, flags, errors_per_epoch, seconds in results:
        error = f"{errors_per_epoch[-1]:.2f}"
        lines.append(f"| {name} | `{PAPER} {flags}` | {f'**{error}**' if best[0] == name else error} | "
                     f"{seconds / 60:.1f} min |")
    lines.append(f"\nThe lowest on the validation images: {best[0]} (`{best[1]}`).")
    return "\n".join(lines)


def draw(results, path, recipe_metrics=None):
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for name, _, errors_per_epoch, _ in results:
        ax.plot(range(1, len(errors_per_epoch) + 1), errors_per_epoch, ".-", lw=1, label=name)
    if recipe_metrics:
        with open(recipe_metrics) as f:
            test = [measures.per_image(loss) for loss in json.load(f)["test_loss"]]
        ax.plot(range(1, len(test) + 1), test, "k--", lw=1.5,
                label=f"the chosen recipe, {len(test)} epochs, on the test images "
                      f"(measured after the choice): {test[-1]:.2f}")
    ax.axhline(3.00, color="crimson", ls="--", label="the paper's deep autoencoder (test), 3.00")
    ax.axhline(13.87, color="gray", ls=":", label="PCA, 30 components (test), 13.87")
    ax.set(yscale="log", xlabel="epoch", ylabel="squared error per image",
           title="784-1000-500-250-30: one change at a time, on validation images")
    ticks = [3, 4, 6, 10, 15, 20, 30, 40, 60]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs per run (default: %(default)s)")
    parser.add_argument("--recipe-metrics", help="metrics.json of a full run of the recipe, for the picture")
    args = parser.parse_args()
    results = []
    with errors.in_one_line():  # missing MNIST: one line and its exit status
        train, validation = validate.split(args.data_dir)
    for name, flags in RUNS:
        start = time.perf_counter()
        errors_per_epoch = scores(f"{PAPER} {flags}", args.epochs, train, validation)
        results.append((name, flags, errors_per_epoch, time.perf_counter() - start))
        print(f"{name}: {errors_per_epoch[-1]:.2f} per validation image, {results[-1][3]:.0f} s",
              file=sys.stderr, flush=True)
    print(table(results, args.epochs))
    path = os.path.join(REPO, "docs", "recipe_2006.png")
    draw(results, path, args.recipe_metrics)
    print(f"\nWrote {path}")


if __name__ == "__main__":
    main()
