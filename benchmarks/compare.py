"""The README's tables of autoencoders, each trained by one command of autoencoder.py.

    python benchmarks/compare.py --data-dir ./mnist/             # 14 runs of 10 epochs: ~12 min here
    python benchmarks/compare.py --data-dir ./mnist/ --epochs 1  # a quick look

Runs every row as its own `autoencoder.py --no-show --no-gif` process (seed 1, so a row can be
repeated alone with the command it shows), reads its metrics.json and prints two markdown
tables: other autoencoders one flag away, each with exact PCA of as many components beside it,
and the tutorial's variants. Seconds per epoch are the median of the run's epochs, measured on
whatever else this machine was doing: compare them within one table, not across days.
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

OTHERS = [   # (model, flags): autoencoders that learners meet next to this lesson
    ("the tutorial's", ""),
    ("ReLU, 20 numbers", "--hidden 256,64 --code-size 20 --activation relu --lr 0.001 --batch-size 32"),
    ("its VAE", "--hidden 256,64 --code-size 20 --activation relu --lr 0.001 --batch-size 32 "
                "--variational"),
    ("linear (no activation)", "--activation linear"),
    ("stacked ELU, L2 0.001", "--hidden 300 --code-size 150 --activation elu --weight-decay 0.001 "
                              "--batch-size 150 --lr 0.001"),
    ("stacked ELU, L2 0.001, tied", "--hidden 300 --code-size 150 --activation elu "
                                    "--weight-decay 0.001 --batch-size 150 --lr 0.001 --tied"),
    ("stacked ELU, L2 0.00001", "--hidden 300 --code-size 150 --activation elu "
                                "--weight-decay 0.00001 --batch-size 150 --lr 0.001"),
    ("stacked ELU, L2 0.00001, tied", "--hidden 300 --code-size 150 --activation elu "
                                      "--weight-decay 0.00001 --batch-size 150 --lr 0.001 --tied"),
    ("64 numbers", "--code-size 64"),
    ("64 numbers, wider layers", "--hidden 256,128 --code-size 64"),
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
    lines = ["| model | command | parameters | numbers per code | test MSE | PCA, as many components "
             "| 5-NN accuracy | PCA's 5-NN accuracy | s/epoch |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (model, flags), (m, _) in zip(OTHERS, results):
        lines.append(f"| {model} | {command_of(flags)} | {m['parameters']:,} | "
                     f"{m['config']['code_size']} | {m['final_test_loss']:.4f} | "
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
    parser.add_argument("--epochs", type=int, help="epochs per run (default: the script's EPOCH)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # the tutorial's row is in both tables: run it once
        for i, (model, flags) in enumerate(OTHERS + VARIANTS[1:]):
            results[flags] = run(flags, args.data_dir, args.epochs, os.path.join(tmp, str(i)))
            print(f"{model}: test MSE {results[flags][0]['final_test_loss']:.4f}, "
                  f"{results[flags][1]:.0f} s", file=sys.stderr, flush=True)
    epochs = args.epochs or results[""][0]["config"]["epochs"]
    print(f"Other autoencoders, {epochs} epochs each, seed 1:\n")
    print(others_table([results[flags] for _, flags in OTHERS]))
    print(f"\nThe tutorial's network, trained differently, {epochs} epochs each, seed 1:\n")
    print(variants_table([results[flags] for _, flags in VARIANTS]))


if __name__ == "__main__":
    main()
