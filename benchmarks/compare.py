"""The tables of autoencoders in docs/, each row trained by one command of autoencoder.py.

    python benchmarks/compare.py --data-dir ./mnist/             # every table, each its own epochs
    python benchmarks/compare.py --data-dir ./mnist/ --epochs 1  # a quick look
    python benchmarks/compare.py --tables conv                   # one table
    python benchmarks/compare.py --only keras                    # the rows whose command has keras

Runs every row as its own `autoencoder.py --no-show --no-gif` process (seed 1, so a row can be
repeated alone with the command it shows), reads its metrics.json and prints three markdown
tables: the recipes (lab/recipes.py's RECIPES, each for the epochs its source trains, and a few
recipes with one flag changed, where that teaches something), each with exact PCA of as many
components beside it; convolutions against fully connected layers (with the Keras blog's two
convolutional recipes); the tutorial's variants; and the penalties on the codes (sparse,
contractive, adversarial, beside the VAE and the Keras blog's sparse autoencoder) with the
measures each aims at. Seconds per epoch are the median of the
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
from autoencoder import EPOCH  # noqa: E402  (after the path above)
from lab.recipes import RECIPES  # noqa: E402

OTHERS = [   # (model, flags): the recipes, then a few of them with one flag changed
    *[(name, f"--recipe {name}") for name in RECIPES if not RECIPES[name][1].get("conv")],
    ("notes-relu without the ReLU on its code", "--recipe notes-relu --code-activation none"),
    ("homl-stacked with Adam's weight_decay for its L2", "--recipe homl-stacked --l2 0 "
                                                         "--weight-decay 0.001"),
    ("homl-stacked with the tutorial's sigmoid output", "--recipe homl-stacked --output sigmoid"),
    ("homl-stacked as this README used to build it", "--recipe homl-stacked --output sigmoid "
                                                     "--init pytorch --code-activation none "
                                                     "--l2 0 --weight-decay 0.001"),
    ("reruns-64 with wider layers", "--recipe reruns-64 --hidden 256,128"),
]
CONV = [  # (model, flags): convolutions against fully connected layers, at 3 numbers and at 32
    ("the tutorial's autoencoder", ""),
    ("convolutional, the tutorial's layers after the convolutions", "--conv"),
    ("convolutional, ELU at the tutorial's learning rate", "--conv --activation elu --lr 0.005"),
    ("fully connected, 32 numbers", "--hidden 256 --code-size 32"),
    ("convolutional, 32 numbers", "--conv --hidden 128 --code-size 32"),
    ("the Keras blog's, 10 of its epochs", "--recipe keras-conv --epochs 10"),
    ("the Keras blog's, its 50 epochs", "--recipe keras-conv"),
    ("the Keras blog's denoising, 10 of its 100 epochs", "--recipe keras-denoising-conv --epochs 10"),
    ("fully connected denoising at the same noise", "--hidden 256 --code-size 32 --noise 0.5 "
                                                     "--loss bce"),
]
VARIANTS = [  # (model, flags): the tutorial's network, trained differently
    ("the tutorial's autoencoder", ""),
    ("denoising", "--noise 0.2"),
    ("input dropout", "--dropout 0.2"),
    ("variational", "--variational"),
    ("tied weights", "--tied"),
]
PENALTIES = [  # (model, flags): penalties on the codes, each against the plain network it changes
    ("the tutorial's autoencoder", ""),
    ("sparse", "--sparsity 0.001"),
    ("contractive", "--contractive 0.01"),
    ("adversarial", "--adversarial"),
    ("variational", "--variational"),
    ("the Keras blog's 32 ReLU numbers, without the penalty, its 50 epochs",
     "--recipe keras-sparse --sparsity 0 --epochs 50"),
    ("the Keras blog's sparse autoencoder, its 100 epochs", "--recipe keras-sparse"),
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
    for (model, flags), (m, _) in results:
        lines.append(f"| {model} | {command_of(flags)} | {m['parameters']:,} | "
                     f"{m['config']['code_size']} | {m['config']['epochs']} | {m['final_test_loss']:.4f} | "
                     f"{m['pca_test_loss']:.4f} | {m['knn_accuracy']:.1%} | "
                     f"{m['pca_knn_accuracy']:.1%} | {statistics.median(m['epoch_seconds']):.2f} |")
    return "\n".join(lines)


def conv_table(results):
    lines = ["| model | command | parameters | numbers per code | epochs | test MSE | test cross-"
             "entropy | 5-NN accuracy | noisy → denoised test MSE | s/epoch |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (model, flags), (m, _) in results:
        entropy = f"{m['test_cross_entropy']:.4f}" if "test_cross_entropy" in m else ""
        denoised = (f"{m['noisy_test_loss']:.4f} → {m['denoised_test_loss']:.4f}"
                    if "denoised_test_loss" in m else "")
        lines.append(f"| {model} | {command_of(flags)} | {m['parameters']:,} | "
                     f"{m['config']['code_size']} | {m['config']['epochs']} | {m['final_test_loss']:.4f} | "
                     f"{entropy} | {m['knn_accuracy']:.1%} | {denoised} | "
                     f"{statistics.median(m['epoch_seconds']):.2f} |")
    return "\n".join(lines)


def variants_table(results):
    first = results[0][1][0]
    lines = ["| model | flags | test MSE | 5-NN accuracy of the codes |", "| --- | --- | --- | --- |",
             f"| the mean image | | {first['mean_image_test_loss']:.4f} | |",
             f"| PCA, 3 components | | {first['pca_test_loss']:.4f} | {first['pca_knn_accuracy']:.1%} |"]
    for (model, flags), (m, _) in results:
        lines.append(f"| {model} | {f'`{flags}`' if flags else ''} | {m['final_test_loss']:.4f} | "
                     f"{m['knn_accuracy']:.1%} |")
    return "\n".join(lines)


def penalties_table(results):
    lines = ["| model | command | epochs | test MSE | 5-NN accuracy | mean \\|code number\\| | "
             "within 0.01 of 0 | Jacobian norm | noise moves a code | codes' mean from 0 | "
             "covariance from I | s/epoch |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: | ---: | ---: |"]
    for (model, flags), (m, _) in results:
        moved = (f"{m['jacobian_norm']:.3f} | {m['code_shift']:.1%}" if "jacobian_norm" in m
                 else " | ")
        lines.append(f"| {model} | {command_of(flags)} | {m['config']['epochs']} | "
                     f"{m['final_test_loss']:.4f} | {m['knn_accuracy']:.1%} | {m['code_mean_abs']:.3f} | "
                     f"{m['code_near_zero']:.1%} | {moved} | {m['code_mean_distance']:.3f} | "
                     f"{m['code_covariance_distance']:.3f} | {statistics.median(m['epoch_seconds']):.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default: each recipe's own, "
                        "the script's EPOCH for the variants)")
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES),
                        help="which tables to run and print (default: all)")
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="only the rows whose command holds TEXT, such as keras: to re-run "
                        "the rows a change touched (default: every row)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = {}   # a command that two tables share runs once
        for table in args.tables:
            for model, flags in TABLES[table][0]:
                if args.only in flags:
                    commands.setdefault(flags, model)
        for i, (flags, model) in enumerate(commands.items()):
            results[flags] = run(flags, args.data_dir, args.epochs, os.path.join(tmp, str(i)))
            print(f"{model}: test MSE {results[flags][0]['final_test_loss']:.4f}, "
                  f"{results[flags][1]:.0f} s", file=sys.stderr, flush=True)
    for table in args.tables:
        rows, make, title = TABLES[table]
        epochs = args.epochs or EPOCH
        print(f"\n{title.format(epochs=epochs)}, seed 1:\n")
        print(make([(row, results[row[1]]) for row in rows if row[1] in results]))


TABLES = {  # name: (rows, the function that prints them, the title)
    "recipes": (OTHERS, others_table, "The recipes"),
    "conv": (CONV, conv_table, "Convolutions against fully connected layers (each its own epochs, "
                               "or --epochs {epochs} where given)"),
    "variants": (VARIANTS, variants_table, "The tutorial's network, trained differently, {epochs} "
                                           "epochs each"),
    "penalties": (PENALTIES, penalties_table, "Penalties on the codes (each its own epochs, or "
                                              "--epochs {epochs} where given)"),
}


if __name__ == "__main__":
    main()
