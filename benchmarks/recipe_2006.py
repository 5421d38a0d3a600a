"""What each change of the 2006 recipe buys: the paper's network, 784-1000-500-250-30, trained by
autoencoder.py for a few epochs with one thing changed at a time, and the curves.

    python benchmarks/recipe_2006.py --data-dir ./mnist/                 # 8 runs of 12 epochs: ~18 min here
    python benchmarks/recipe_2006.py --data-dir ./mnist/ --recipe-metrics results/2006/metrics.json

Prints a markdown table of the squared error per test image (the sum over 784 pixels, the unit
of Hinton & Salakhutdinov, 2006) after the last epoch, with each run's command, and draws the
test error of every epoch into docs/recipe_2006.png; --recipe-metrics adds the curve of a full
run of the recipe (its metrics.json) to the picture.
"""
import argparse
import json
import os
import sys
import tempfile

import matplotlib
import matplotlib.ticker
matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import REPO, command_of, run  # noqa: E402

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


def per_image(metrics):
    return [784 * loss for loss in metrics["test_loss"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs per run (default: %(default)s)")
    parser.add_argument("--recipe-metrics", help="metrics.json of a full run of the recipe, for the picture")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, flags) in enumerate(RUNS):
            metrics, seconds = run(f"{PAPER} {flags}", args.data_dir, args.epochs, os.path.join(tmp, str(i)))
            results.append((name, flags, metrics, seconds))
            print(f"{name}: {per_image(metrics)[-1]:.2f} per image, {seconds:.0f} s", file=sys.stderr,
                  flush=True)
    print(f"784-1000-500-250-30, batch 128, {args.epochs} epochs each, seed 1:\n")
    print("| what changed | command | squared error per test image | wall time |")
    print("| --- | --- | ---: | ---: |")
    for name, flags, metrics, seconds in results:
        print(f"| {name} | {command_of(f'{PAPER} {flags} --epochs {args.epochs}')} | "
              f"{per_image(metrics)[-1]:.2f} | {seconds / 60:.1f} min |")

    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for name, _, metrics, _ in results:
        errors = per_image(metrics)
        ax.plot(range(1, len(errors) + 1), errors, ".-", lw=1, label=name)
    if args.recipe_metrics:
        with open(args.recipe_metrics) as f:
            recipe = json.load(f)
        errors = per_image(recipe)
        ax.plot(range(1, len(errors) + 1), errors, "k-", lw=2,
                label=f"the recipe, {len(errors)} epochs: {errors[-1]:.2f}")
    ax.axhline(3.00, color="crimson", ls="--", label="the paper's deep autoencoder, 3.00")
    ax.axhline(13.87, color="gray", ls=":", label="PCA, 30 components, 13.87")
    ax.set(yscale="log", xlabel="epoch", ylabel="squared error per test image",
           title="784-1000-500-250-30 on MNIST: one change at a time")
    ticks = [3, 4, 6, 10, 15, 20, 30, 40, 60]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    path = os.path.join(REPO, "docs", "recipe_2006.png")
    fig.savefig(path, dpi=110)
    print(f"\nWrote {path}")


if __name__ == "__main__":
    main()
