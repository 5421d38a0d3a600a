"""Reading digits from 100, 600, 1000 and 3000 labels: the classifiers of `--labels` on the codes of
a few autoencoders, each over 10 draws of the labelled digits, beside Kingma et al. (2014).

    python benchmarks/few_labels.py --data-dir ./mnist/                # the table (14.6 min here)
    python benchmarks/few_labels.py --data-dir ./mnist/ --draws 2      # a quicker look
    python benchmarks/few_labels.py --data-dir ./mnist/ --full         # with the convolutional
                                                                        # encoder fine-tuned too
    python benchmarks/few_labels.py --data-dir ./mnist/ --choose       # how SETTINGS were chosen

Each autoencoder of AUTOENCODERS is trained once (seed 1) on all 60,000 training images without
their labels, as `python autoencoder.py FLAGS` trains it; then, for each number of labels and each
draw (seeds 1 to 10), the classifiers of lab/features.py learn from the labelled digits drawn and
are measured on the 10,000 test digits. The draws of one seed are nested: its 100 digits are among
its 600, and so on. It prints a markdown table of the test error in % (the field's unit), the mean
over the draws and their standard deviation, and draws docs/few_labels.png.

The classifiers' settings (lab/features.py's SETTINGS) were chosen with --choose, which never
reads the test set: the autoencoders train on the first 50,000 training images, the labelled
digits are drawn from them (other seeds), and each setting is scored on the last 10,000.
"""
import argparse
import contextlib
import io
import itertools
import os
import statistics
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import autoencoder as ae  # noqa: E402  (after the path above)
from lab import checkpoints, errors, features, kinds  # noqa: E402

AUTOENCODERS = {    # a name in the table: the flags of autoencoder.py
    "the tutorial's, 3 numbers": "",
    "wider, 32 numbers": "--hidden 256,64 --code-size 32 --activation relu --lr 0.001",
    "convolutional, 3 numbers": "--conv",
    "VAE, 32 numbers": "--variational --hidden 256,64 --code-size 32 --activation relu",
}
COLUMNS = (100, 600, 1000, 3000)    # the field's numbers of labels
# features.TRAINS_THE_ENCODER through the convolutions: about 15 s per draw and column on this
# machine's 2 cores, 20 minutes for the table; left out unless --full
DRAWS = 10
SEED = 1                # of every autoencoder
CHOICE_SEEDS = (101, 102)   # --choose's draws, others than the table's
CHOICE_COLUMNS = (100, 1000)
GRID = {    # what --choose tries; the steps are scored on the way, in one run each
    "small layer": {"lr": (0.003, 0.01), "weight_decay": (0.0, 0.001, 0.01), "steps": (125, 250, 500, 1000)},
    "encoder": {"lr": (0.001, 0.003), "weight_decay": (0.0, 0.001), "steps": (100, 200, 400, 800)},
    "spread": {"neighbours": (5, 10, 20), "alpha": (0.9, 0.99), "steps": (10, 30, 100)},
}
# Kingma, Rezende, Mohamed and Welling (2014), "Semi-supervised learning with deep generative
# models", Table 1, MNIST, test error in % by the number of labels. The paper itself could not be
# read from this machine: the 100 labels' column as this project's issue quotes it; M1+TSVM's other
# columns as a public re-implementation's README quotes the paper; M1+M2 at 1000 labels as Rasmus
# et al. (2015, the ladder network) quote it ("DGN"). Other cells are left out.
KINGMA = {"NN (a plain network on the labels alone)": {100: 25.8},
          "CAE (contractive autoencoder's features)": {100: 13.47},
          "M1+TSVM (a VAE's features, a transductive SVM)": {100: 11.82, 600: 5.72, 1000: 4.24, 3000: 3.49},
          "M2": {100: 11.97}, "M1+M2": {100: 3.33, 1000: 2.40}}


def train(flags, images, seed=SEED):
    """The autoencoder of flags trained on images as `python autoencoder.py FLAGS` trains it."""
    args = ae.parse_args(["--seed", str(seed), *flags.split()])
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):     # the runs' own lines
        model = kinds.build(args, ae.AutoEncoder)
        optimizer = ae.make_optimizer(model, args.lr, args.weight_decay, args.optimizer)
        history = checkpoints.new_history()
        for epoch in range(args.epochs):
            ae.train(args, model, optimizer, images, epoch, history)
    return model.eval()


def load(data_dir, test=True):
    """The training images (60000, 784) and labels; and the test set's, unless test is False."""
    images, labels = ae.load_mnist(data_dir, download=False)
    found = [ae.to_float_images(images, torch.device("cpu")), labels]
    if test:
        test_images, test_labels = ae.load_mnist(data_dir, train=False, download=False)
        found += [ae.to_float_images(test_images, torch.device("cpu")), test_labels]
    return found


# ---- --choose: every setting scored on the last 10,000 training images -------------------------

def choose(data_dir, autoencoders=AUTOENCODERS, seeds=CHOICE_SEEDS, columns=CHOICE_COLUMNS):
    """Each classifier's settings with the best mean accuracy on the last sixth of the training
    images (MNIST's last 10,000), which features.draw never draws, over the autoencoders (trained
    on the other training images), the columns and the seeds' draws; the test set is never read.
    Prints the scores; returns SETTINGS's new values."""
    images, labels = load(data_dir, test=False)
    held = len(images) // features.HELD_OUT
    train_images, held_images, held_labels = images[:-held], images[-held:], labels[-held:]
    scores = {}     # (classifier, setting as a tuple) -> [accuracy, ...]
    most = max(GRID["spread"]["neighbours"])
    for name, flags in autoencoders.items():
        start = time.perf_counter()
        model = train(flags, train_images)
        inputs = features.prepare(model, train_images, held_images, most)
        for n, seed in itertools.product(columns, seeds):
            chosen = features.draw(labels, n, seed)     # from the first 50,000 only
            for classifier, found in score_settings(model, inputs, labels[:-held], chosen, seed, held_labels):
                scores.setdefault(classifier, []).append(found)
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return best_settings(scores)


def score_settings(model, inputs, labels, chosen, seed, held_labels):
    """(classifier, {setting: accuracy on the held-out images}) for every classifier."""
    for name in features.SETTINGS:
        found = {}
        if name == "spread":
            for k, alpha, steps in itertools.product(*GRID["spread"].values()):
                setting = {"neighbours": k, "alpha": alpha, "steps": steps}
                guessed = features.spread_labels(inputs["graph"], chosen, labels, setting)
                found[tuple(setting.items())] = (guessed == held_labels).float().mean().item()
            yield name, found
            continue
        grid = GRID["small layer" if name in ("pixels", "pca", "codes") else "encoder"]
        for lr, decay in itertools.product(grid["lr"], grid["weight_decay"]):
            setting = {"lr": lr, "steps": max(grid["steps"]), "batch": 100, "weight_decay": decay}

            def scored(steps, network):     # the held-out accuracy after some of the steps
                if steps in grid["steps"]:
                    right = features.guess(network, test) == held_labels
                    found[tuple({**setting, "steps": steps}.items())] = right.float().mean().item()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                train, test = features.inputs_for(name, inputs)
                features.fit(features.network_for(name, model, inputs), train[chosen], labels[chosen],
                             setting, torch.Generator().manual_seed(seed), scored)
        yield name, found


def best_settings(scores):
    """Print each classifier's settings from the best mean accuracy down; return the best."""
    best = {}
    for name, runs in scores.items():
        means = {setting: statistics.mean(run[setting] for run in runs) for setting in runs[0]}
        ranked = sorted(means, key=means.get, reverse=True)
        best[name] = dict(ranked[0])
        print(f"\n{name}: the mean held-out accuracy of {len(runs)} runs (autoencoders x labels x draws)")
        for setting in dict.fromkeys(ranked[:3] + ranked[-1:]):     # the best three and the worst
            print(f"  {100 * means[setting]:5.1f} %  {dict(setting)}")
    return best


# ---- The table ---------------------------------------------------------------------------------

def errors_of(model, inputs, labels, test_labels, draws, classifiers):
    """{(classifier, n labels): [test error in % of each draw]}."""
    found = {}
    for n, seed in itertools.product(COLUMNS, range(1, draws + 1)):
        chosen = features.draw(labels, n, seed)
        guesses = features.read_digits(model, inputs, labels, chosen, seed, classifiers=classifiers)
        for name, guessed in guesses.items():
            found.setdefault((name, n), []).append(100 * (guessed != test_labels).float().mean().item())
    return found


def graph(train, test, k=features.SETTINGS["spread"]["neighbours"]):
    """What prepare() makes for the spreading, along other rows than the codes (PCA's codes)."""
    return {"graph": features.neighbour_graph(train, test, k)}


def cell(values):
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def table(rows):
    """rows: [(name, {n: [errors]})] -> a markdown table, then Kingma et al.'s rows."""
    lines = ["| classifier | " + " | ".join(f"{n} labels" for n in COLUMNS) + " |",
             "| --- |" + " ---: |" * len(COLUMNS)]
    lines += [f"| {name} | " + " | ".join(cell(found[n]) for n in COLUMNS) + " |" for name, found in rows]
    lines += [f"| Kingma et al.: {name} | " + " | ".join(f"{found[n]:.2f}" if n in found else "—" for n in COLUMNS)
              + " |" for name, found in KINGMA.items()]
    return "\n".join(lines)


COLOURS = {"pixels": "tab:blue", "pca": "tab:orange", "codes": "tab:green", "fine_tuned": "tab:red",
           "from_scratch": "tab:purple", "spread": "tab:brown", "spread_pca": "tab:pink"}  # the same in every panel
ERROR_TICKS = (2, 3, 5, 10, 20, 40, 60)


def draw(results, path):
    """docs/few_labels.png: each classifier's mean test error against the number of labels, a
    panel per autoencoder, with the pixels' row in each and Kingma et al.'s cells (named at 100 labels).
    results: {autoencoder's name: {classifier's name: {n: [errors]}}}."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.6), sharey=True, layout="constrained")
    pixels = next(iter(results.values()))["pixels"]
    for ax, (name, rows) in zip(axes, results.items()):
        for classifier, found in {"pixels": pixels, **rows}.items():
            means = [statistics.mean(found[n]) for n in COLUMNS]
            ax.plot(COLUMNS, means, "--" if classifier in ("pixels", "pca", "spread_pca") else "o-",
                    label=classifier.replace("_", " "), ms=4, color=COLOURS[classifier])
        for label, found in KINGMA.items():
            ax.plot(list(found), list(found.values()), "k_:", ms=12, lw=0.8)     # dotted: one row's cells
            error = found[100]
            if ax is axes[-1]:
                if label != "M2":   # 11.97 lies on M1+TSVM's 11.82: one label for both
                    ax.annotate({"M1+TSVM": "M1+TSVM, M2"}.get(label.split(" (")[0], label.split(" (")[0]),
                                (100, error), (108, error), fontsize=6, va="center")
        ax.set(xscale="log", yscale="log", xticks=COLUMNS, xlabel="labelled training digits", title=name)
        ax.set_xticklabels(map(str, COLUMNS))
        ax.set_yticks(ERROR_TICKS, [str(t) for t in ERROR_TICKS])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test error (%), the mean of the draws")
    axes[0].legend(fontsize=7)
    fig.suptitle("Reading digits from a few labels: each classifier's test error (black dashes: "
                 "Kingma et al.'s, dotted along a row)", fontsize=10)
    fig.savefig(path, dpi=90)


def measure(images, labels, test_images, test_labels, draws, start, full=False):
    """Every autoencoder trained, every classifier measured over the draws: the table's rows
    [(name, {n: [errors]})], and {autoencoder: {classifier: {n: [errors]}}} for the picture. The
    pixels' row is the same for all, PCA's for all codes of one size: each is measured once."""
    rows, results, sizes = [], {}, set()
    for name, flags in AUTOENCODERS.items():
        model = train(flags, images)
        inputs = features.prepare(model, images, test_images)
        size = inputs["codes"][0].shape[1]
        own = [c for c in features.SETTINGS if (c != "pixels" or not rows) and (c != "pca" or size not in sizes)
               and (full or "--conv" not in flags or c not in features.TRAINS_THE_ENCODER)]
        found = errors_of(model, inputs, labels, test_labels, draws, own)
        if size not in sizes:   # the labels spread along PCA's codes, beside the codes'
            found.update({("spread_pca", n): errors for (_, n), errors in errors_of(
                None, graph(*inputs["pca"]), labels, test_labels, draws, ["spread"]).items()})
            own.append("spread_pca")
        sizes.add(size)
        words = features.names(size)
        words["spread_pca"] = f"the labels spread along PCA's {size} numbers' nearest neighbours"
        results[name] = {c: {n: found[(c, n)] for n in COLUMNS} for c in own}
        rows += [(words[c] if c in ("pixels", "pca", "spread_pca") else f"{words[c]} ({name})", results[name][c])
                 for c in own]
        print(f"{name}: {(time.perf_counter() - start) / 60:.1f} min", file=sys.stderr, flush=True)
    return rows, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="MNIST root, the folder that holds MNIST/raw/ (default: ./mnist/)")
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws of the labelled digits (default: 10)")
    parser.add_argument("--full", action="store_true", help="also fine-tune the convolutional encoder and "
                        "train it from random weights (about 20 minutes more here)")
    parser.add_argument("--choose", action="store_true",
                        help="score the classifiers' settings on the last 10,000 training images instead")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.choose:
        with errors.in_one_line():
            best = choose(args.data_dir)
        print(f"\nSETTINGS = {best}\n({(time.perf_counter() - start) / 60:.1f} min)")
        return
    with errors.in_one_line():  # missing MNIST: one line and its exit status
        images, labels, test_images, test_labels = load(args.data_dir)
    print("Settings (lab/features.py's SETTINGS), chosen by `python benchmarks/few_labels.py --choose` on the "
          "last 10,000 training images, the test set never read:", features.SETTINGS, file=sys.stderr)
    rows, results = measure(images, labels, test_images, test_labels, args.draws, start, args.full)
    print(table(rows))
    draw(results, os.path.join(REPO, "docs", "few_labels.png"))
    print(f"\n{len(AUTOENCODERS)} autoencoders, {args.draws} draws: {(time.perf_counter() - start) / 60:.1f} min; "
          "wrote docs/few_labels.png")


if __name__ == "__main__":
    main()
