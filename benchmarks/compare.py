"""The README's tables of autoencoders, each trained by one command of autoencoder.py.

    python benchmarks/compare.py --data-dir ./mnist/             # 15 runs, each its own epochs
    python benchmarks/compare.py --data-dir ./mnist/ --epochs 1  # a quick look

Runs every row as its own `autoencoder.py --no-show --no-gif` process (seed 1, so a row can be
repeated alone with the command it shows), reads its metrics.json and prints two markdown
tables: the recipes (autoencoder.py's RECIPES, each for the epochs its source trains, and a few
recipes with one flag changed, where that teaches something), each with exact PCA of as many
components beside it; and the tutorial's variants. Seconds per epoch are the median of the
run's epochs, measured on whatever else this machine was doing: compare them within one table,
not across days.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from autoencoder import RECIPES  # noqa: E402  (after the path above)

OTHERS = [   # (model, flags): the recipes, then a few of them with one flag changed
    *[(name, f"--recipe {name}") for name in RECIPES],
    ("notes-relu without the ReLU on its code", "--recipe notes-relu --code-activation none"),
    ("homl-stacked with Adam's weight_decay for its L2", "--recipe homl-stacked --l2 0 "
                                                         "--weight-decay 0.001"),
    ("homl-stacked with the tutorial's sigmoid output", "--recipe homl-stacked --output sigmoid"),
    ("homl-stacked as this README used to build it", "--recipe homl-stacked --output sigmoid "
                                                     "--init pytorch --code-activation none "
                                                     "--l2 0 --weight-decay 0.001"),
    ("reruns-64 with wider layers", "--recipe reruns-64 --hidden 256,128"),
]
VARIANTS = [  # (model, flags): the tutorial's network, trained differently
    ("the tutorial's autoencoder", ""),
    ("denoising", "--noise 0.2"),
    ("input dropout", "--dropout 0.2"),
    ("variational", "--variational"),
    ("tied weights", "--tied"),
]


def run(flags, data_dir, epochs, out_dir):
    """One run of autoencoder.py; returns its metrics.json and its wall time."""
    command = [sys.executable, os.path.join(REPO, "autoencoder.py"), "--no-show", "--no-gif",
               "--data-dir", data_dir, "--out-dir", out_dir, *flags.split()]
    if epochs:
        command += ["--epochs", str(epochs)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr.strip()}")
    with open(os.path.join(out_dir, "metrics.json")) as f:
        return json.load(f), time.perf_counter() - start


def command_of(flags):
    return f"`{'python autoencoder.py ' + flags}`".replace(" `", "`")


def others_table(results):
    lines = ["| model | command | parameters | numbers per code | epochs | test MSE | PCA, as many "
             "components | 5-NN accuracy | PCA's 5-NN accuracy | s/epoch |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (model, flags), (m, _) in zip(OTHERS, results):
        lines.append(f"| {model} | {command_of(flags)} | {m['parameters']:,} | "
                     f"{m['config']['code_size']} | {m['config']['epochs']} | {m['final_test_loss']:.4f} | "
                     f"{m['pca_test_loss']:.4f} | {m['knn_accuracy']:.1%} | "
                     f"{m['pca_knn_accuracy']:.1%} | {statistics.median(m['epoch_seconds']):.2f} |")
    return "\n".join(lines)


def variants_table(results):
    first = results[0][0]
    lines = ["| model | flags | test MSE | 5-NN accuracy of the codes |", "| --- | --- | --- | --- |",
             f"| the mean image | | {first['mean_image_test_loss']:.4f} | |",
             f"| PCA, 3 components | | {first['pca_test_loss']:.4f} | {first['pca_knn_accuracy']:.1%} |"]
    for (model, flags), (m, _) in zip(VARIANTS, results):
        lines.append(f"| {model} | {f'`{flags}`' if flags else ''} | {m['final_test_loss']:.4f} | "
                     f"{m['knn_accuracy']:.1%} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default: each recipe's own, "
                        "the script's EPOCH for the variants)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (model, flags) in enumerate(OTHERS + VARIANTS):
            results[flags] = run(flags, args.data_dir, args.epochs, os.path.join(tmp, str(i)))
            print(f"{model}: test MSE {results[flags][0]['final_test_loss']:.4f}, "
                  f"{results[flags][1]:.0f} s", file=sys.stderr, flush=True)
    epochs = args.epochs or results[""][0]["config"]["epochs"]
    print("The recipes, seed 1:\n")
    print(others_table([results[flags] for _, flags in OTHERS]))
    print(f"\nThe tutorial's network, trained differently, {epochs} epochs each, seed 1:\n")
    print(variants_table([results[flags] for _, flags in VARIANTS]))


if __name__ == "__main__":
    main()
