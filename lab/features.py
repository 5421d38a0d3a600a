"""Feature learning, the third use of an autoencoder: its codes read digits from a few labels.

--labels N: after training, N labelled training digits (N/10 of each, drawn with the seed) teach
small classifiers, measured side by side on the test digits: a small layer on the pixels, on PCA's
codes, on the autoencoder's codes (the encoder frozen); the encoder fine-tuned with that layer
(unsupervised pretraining, as Hands-On ML teaches it); the same network from random weights; and
the labels spread along the codes of all the training digits, which need no labels to be coded.
similar.png, for every run: test digits beside their nearest training digits by the code and by
the pixels, a search by similarity."""
import copy
import textwrap
import warnings

import matplotlib.figure
import torch
from torch import nn

from lab import checkpoints, decoder, flags, measures

LABELS = 0              # labelled training digits for the classifiers; 0: none
HELD_OUT = 6            # the last sixth of the training images (MNIST's last 10,000) is never drawn:
MOST_LABELS = 45_060    # benchmarks/few_labels.py --choose chooses SETTINGS on it; MNIST's first
                        # 50,000 hold 4,506 5s, the fewest of any digit, so 4,506 of each at most
HEAD = 64               # units of the small layer that turns features into the 10 digits' scores
# Each classifier's settings, chosen by `python benchmarks/few_labels.py --choose` on the held-out
# training digits, never on the test set: Adam's rate, steps of `batch` digits and weight decay;
# the spreading's neighbours, the share each digit keeps of its neighbours' labels, and steps
SETTINGS = {    # (the best mean held-out accuracy of 16 runs: 4 autoencoders, 100 and 1000 labels, 2 draws)
    "pixels": {"lr": 0.01, "steps": 1000, "batch": 100, "weight_decay": 0.01},
    "pca": {"lr": 0.003, "steps": 1000, "batch": 100, "weight_decay": 0.01},
    "codes": {"lr": 0.003, "steps": 1000, "batch": 100, "weight_decay": 0.001},
    "fine_tuned": {"lr": 0.003, "steps": 400, "batch": 100, "weight_decay": 0.0},
    "from_scratch": {"lr": 0.003, "steps": 800, "batch": 100, "weight_decay": 0.0},
    "spread": {"neighbours": 20, "alpha": 0.99, "steps": 100},
}
TRAINS_THE_ENCODER = ("fine_tuned", "from_scratch")    # the classifiers that read the pixels
N_MISTAKES = 12         # the test digits each classifier gets wrong, in labels.png
N_NEAREST = 5           # the nearest training digits beside each test digit, similar.png


def add_flags(group):
    group.add_argument(
        "--labels", type=flags.number(int, lambda n: n % 10 == 0 and 0 < n <= MOST_LABELS,
                                      f"multiple of 10 from 10 to {MOST_LABELS}, as many of each "
                                      "digit as MNIST's first 50,000 training images hold"),
        default=LABELS, metavar="N", help="after training, teach small classifiers N labelled "
        "training digits, N/10 of each, and print their accuracy on the test digits side by side: "
        "on the pixels, PCA's codes, the codes, the encoder fine-tuned, the same network from "
        "random weights, the labels spread along the codes; labels.png (default: off)")


def check(parser, args):
    if args.labels and len(args.train_digits) < 10:
        parser.error("argument --labels: the labelled digits are drawn from all ten, and "
                     "--train-digits keeps the training images of some only: use one or the other")


def names(size):
    """Each classifier's name in metrics.json, and what it is in words."""
    return {"pixels": "a small layer on the 784 pixels",
            "pca": f"a small layer on PCA's {size} numbers",
            "codes": f"a small layer on the codes' {size} numbers, the encoder frozen",
            "fine_tuned": "the encoder fine-tuned together with the small layer",
            "from_scratch": "the same network trained from random weights",
            "spread": "the labels spread along the codes' nearest neighbours"}


# ---- The labelled digits, and what every classifier reads -------------------------------------

def draw(labels, n, seed):
    """The indices of n labelled training digits, n/10 of each, drawn with the seed from all but
    the last sixth of the training images, digit by digit; None if a digit has too few."""
    generator = torch.Generator().manual_seed(seed)
    pool = labels[:len(labels) - len(labels) // HELD_OUT].cpu()
    chosen = []
    for digit in range(10):
        where = (pool == digit).nonzero().squeeze(1)
        if len(where) < n // 10:
            return None
        chosen.append(where[torch.randperm(len(where), generator=generator)[:n // 10]])
    return torch.cat(chosen)


def prepare(autoencoder, images, test_images, most_neighbours=SETTINGS["spread"]["neighbours"],
            train_codes=None, pca=None):
    """What the classifiers read, computed once for any number of draws: each input as (training,
    test) rows (the pixels, PCA's codes and the autoencoder's, each PCA and code as long as the
    code), and the Graph the labels spread along. No label is read here. train_codes and pca
    (PCA's mean and axes, as many as the code has numbers): a run's own, when it has them already."""
    train_codes = measures.codes(autoencoder, images) if train_codes is None else train_codes
    test_codes = measures.codes(autoencoder, test_images)
    mean, axes = measures.pca(images, train_codes.shape[1]) if pca is None else pca
    return {"pixels": (images, test_images),
            "pca": tuple(measures.pca_codes(x, mean, axes).to(x.device) for x in (images, test_images)),
            "codes": (train_codes, test_codes),
            "graph": neighbour_graph(train_codes, test_codes, most_neighbours)}


def inputs_for(name, inputs):
    """The (training, test) rows a classifier reads: the pixels where it holds an encoder."""
    return inputs["pixels" if name in TRAINS_THE_ENCODER else name]


class Graph:
    """The nearest training digits of each training digit (itself first) and of each test digit,
    (N train, most) and (N test, most), by some rows (the codes, or PCA's); and label spreading's
    step along the k nearest, built once for each k."""

    def __init__(self, nearest, test_nearest):
        self.nearest, self.test_nearest, self.steps = nearest, test_nearest, {}

    def step(self, k):
        """One step of spreading as a sparse matrix: row i holds 1 / degree(i) at its k nearest and
        at the digits that have it among theirs (twice where both), degree(i) = k + those digits."""
        if k not in self.steps:
            n = len(self.nearest)
            rows, columns = torch.arange(n).repeat_interleave(k), self.nearest[:, :k].flatten()
            degree = k + torch.bincount(columns, minlength=n).float()
            both_ways = torch.cat([torch.stack([rows, columns]), torch.stack([columns, rows])], 1)
            step = torch.sparse_coo_tensor(both_ways, 1 / degree[both_ways[0]], (n, n),
                                           check_invariants=False).coalesce()
            with warnings.catch_warnings():     # "sparse CSR support is in beta": ten times quicker than COO here
                warnings.simplefilter("ignore", UserWarning)
                self.steps[k] = step.to_sparse_csr()
        return self.steps[k]


def neighbour_graph(train, test, most):
    """The Graph of the rows train and test, up to `most` neighbours each."""
    train, test = train.cpu(), test.cpu()
    return Graph(measures.nearest_neighbours(train, train, most), measures.nearest_neighbours(train, test, most))


# ---- The classifiers ---------------------------------------------------------------------------

def small_layer(size):
    """What turns size numbers into the 10 digits' scores: one small hidden layer."""
    return nn.Sequential(nn.Linear(size, HEAD), nn.ReLU(), nn.Linear(HEAD, 10))


def fit(network, inputs, labels, settings, generator, after_step=None):
    """Adam on the cross-entropy of the labels, batches drawn at random; eval mode after.
    after_step(steps done, network): benchmarks/few_labels.py --choose scores it on the way."""
    optimizer = torch.optim.Adam(network.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    network.train()
    for step in range(settings["steps"]):
        batch = torch.randperm(len(inputs), generator=generator)[:settings["batch"]].to(inputs.device)
        loss = nn.functional.cross_entropy(network(inputs[batch]), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step(step + 1, network)
    return network.eval()


def guess(network, inputs, batch_size=1000):
    """The digit each row of inputs is taken for, (N,), on the CPU."""
    with torch.no_grad():
        return torch.cat([network(x).argmax(1).cpu() for x in inputs.split(batch_size)])


def spread_labels(graph, chosen, labels, settings):
    """Label spreading (Zhou et al., 2004): the training digits joined to their nearest by the
    code, both ways; the labelled ones start with their digit, and at each step every digit takes
    the mean of its neighbours' scores (alpha) and its own start (1 - alpha). Each test digit is
    then the digit its nearest training digits score highest, (N,). graph: a Graph."""
    k, step = settings["neighbours"], graph.step(settings["neighbours"])
    start = torch.zeros(len(graph.nearest), 10)
    start[chosen, labels[chosen].cpu()] = 1
    scores = start
    for _ in range(settings["steps"]):
        scores = settings["alpha"] * (step @ scores) + (1 - settings["alpha"]) * start
    return scores[graph.test_nearest[:, :k]].sum(1).argmax(1)


def network_for(name, autoencoder, inputs):
    """A fresh classifier: a small layer on the pixels, PCA's codes or the codes; or on a copy of
    the encoder, as it was trained (fine_tuned) or with PyTorch's initial weights (from_scratch)."""
    if name in ("pixels", "pca", "codes"):
        return small_layer(inputs[name][0].shape[1]).to(inputs[name][0].device)
    encoder = copy.deepcopy(autoencoder.encoder)
    if name == "from_scratch":
        for module in encoder.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return nn.Sequential(encoder, small_layer(inputs["codes"][0].shape[1])).to(inputs["pixels"][0].device)


def read_digits(autoencoder, inputs, labels, chosen, seed, settings=SETTINGS, classifiers=tuple(SETTINGS)):
    """The digit each classifier takes each test digit for, {name: (N,)}, each taught the labels
    of the training digits chosen only. inputs: prepare()'s; labels: all the training labels."""
    guesses = {}
    with torch.random.fork_rng(devices=[]):     # the same small layers for the same seed
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for name in classifiers:
            if name == "spread":
                guesses[name] = spread_labels(inputs["graph"], chosen, labels, settings[name])
                continue
            train, test = inputs_for(name, inputs)
            x, y = train[chosen.to(train.device)], labels[chosen.to(labels.device)].to(train.device)
            guesses[name] = guess(fit(network_for(name, autoencoder, inputs), x, y, settings[name], generator), test)
    return guesses


# ---- After a run with --labels: the lines, labels.png and metrics.json -------------------------

def evaluate(args, autoencoder, data, train_codes=None, pca=None):
    """--labels: the classifiers' test accuracy printed, labels.png, and the numbers for
    metrics.json; data: (images, labels, test images, test labels); train_codes, pca: prepare()'s."""
    images, labels, test_images, test_labels = data
    chosen = draw(labels, args.labels, args.seed)
    if chosen is None:
        print(f"Reading digits from {args.labels} labels: skipped: the training images hold fewer "
              f"than {args.labels // 10} of some digit outside their last sixth, which is kept for choosing")
        return [], {}
    inputs = prepare(autoencoder, images, test_images, train_codes=train_codes, pca=pca)
    guesses = read_digits(autoencoder, inputs, labels, chosen, args.seed)
    truth = test_labels.cpu()
    accuracy = {name: (found == truth).float().mean().item() for name, found in guesses.items()}
    words = names(inputs["codes"][0].shape[1])
    print(f"Reading the test digits from {args.labels} labels ({args.labels // 10} per digit, drawn "
          f"with the seed), accuracy of:")
    for name, value in accuracy.items():
        print(f"  {words[name]:<{max(map(len, words.values()))}}  {value:6.1%}")
    fig = plot_labels(images[chosen.to(images.device)], guesses, test_images, truth, accuracy, words)
    checkpoints.save_atomically(checkpoints.out_path(args, "labels.png"), lambda path: fig.savefig(path, dpi=100))
    return ["labels.png"], {"labels_accuracy": accuracy, "labelled_images": chosen.tolist()}


def plot_labels(labelled, guesses, test_images, truth, accuracy, words, n=N_MISTAKES):
    """labels.png: the labelled digits (up to 10 of each), each classifier's test accuracy, and
    the first n test digits each one gets wrong, with its guess."""
    fig = matplotlib.figure.Figure(figsize=(11, 8.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
    shown, bars = top.subplots(1, 2, width_ratios=[1, 1.6])
    per_digit = len(labelled) // 10
    rows = [labelled[d * per_digit:d * per_digit + min(10, per_digit)] for d in range(10)]
    shown.imshow(decoder.mosaic(torch.cat(rows).cpu(), min(10, per_digit)), cmap="gray", vmin=0, vmax=1)
    shown.set(xticks=[], yticks=[])
    shown.set_title("The labelled digits it learns from" + (f"\n(10 of the {per_digit} of each digit)"
                                                             if per_digit > 10 else ""), fontsize=9)
    order = list(accuracy)[::-1]
    bars.barh([words[name] for name in order], [100 * accuracy[name] for name in order],
              color=["tab:green" if name == "spread" else "tab:blue" for name in order])
    for i, name in enumerate(order):
        bars.text(100 * accuracy[name] + 1, i, f"{accuracy[name]:.1%}", va="center", fontsize=8)
    bars.set(xlim=(0, 110), xlabel="accuracy on the test digits (%)")
    bars.tick_params(labelsize=8)
    bars.set_title(f"{len(labelled)} labels, {len(truth):,} test digits\n(green: the labels spread along "
                   "the unlabelled training digits)", fontsize=9)
    wrong = {name: (found != truth).nonzero().squeeze(1)[:n] for name, found in guesses.items()}
    ax = bottom.subplots()
    ax.imshow(decoder.mosaic(torch.cat([pad(test_images[w.to(test_images.device)].cpu(), n) for w in wrong.values()]), n),
              cmap="gray", vmin=0, vmax=1)
    for row, (name, w) in enumerate(wrong.items()):
        for col, i in enumerate(w.tolist()):    # its guess in the corner, in red
            ax.text(2 + 30 * col + 27, 2 + 30 * row + 27, str(guesses[name][i].item()), color="red",
                    fontsize=8, ha="right", va="bottom", fontweight="bold")
    ax.set_yticks([16 + 30 * i for i in range(len(wrong))], [textwrap.fill(words[name], 30) for name in wrong],
                  fontsize=8)
    ax.set_xticks([])
    ax.set_title(f"The first {n} test digits each gets wrong, with its guess in red", fontsize=9)
    return fig


def pad(images, n):
    """images (M, 784), M <= n, followed by white ones up to n."""
    return torch.cat([images, torch.ones(n - len(images), images.shape[1])])


# ---- similar.png, for every run: a search by similarity ---------------------------------------

def similar_digits(args, autoencoder, train_codes, data):
    """similar.png: the first test digit of each digit, its nearest training digits by the code,
    and by the pixels; returns its name. data: (images, labels, test images, test labels)."""
    images, labels, test_images, test_labels = data
    picks = [test_labels.tolist().index(d) for d in range(10) if d in test_labels.tolist()]
    queries = test_images[picks]
    by_code = measures.nearest_neighbours(train_codes.cpu(), measures.codes(autoencoder, queries).cpu(), N_NEAREST)
    by_pixels = measures.nearest_neighbours(images.cpu(), queries.cpu(), N_NEAREST)
    fig = plot_similar(queries.cpu(), test_labels[picks].cpu(), images.cpu(), labels.cpu(), by_code,
                       by_pixels, train_codes.shape[1])
    checkpoints.save_atomically(checkpoints.out_path(args, "similar.png"), lambda path: fig.savefig(path, dpi=100))
    return "similar.png"


def plot_similar(queries, query_labels, images, labels, by_code, by_pixels, size):
    """Each query beside images[by_code] and images[by_pixels], a row each, with each found
    image's label in its corner: red if it is not the query's."""
    k, blank = by_code.shape[1], torch.ones(1, 28 * 28)
    rows = [torch.cat([query[None], blank, images[code], blank, images[pixels]])
            for query, code, pixels in zip(queries, by_code, by_pixels)]
    fig = decoder.plot_mosaic(torch.cat(rows), 2 * k + 3,
                              f"Search by similarity: each test digit's {k} nearest training digits "
                              f"by the code's {size} numbers,\nand by its 784 pixels (their labels "
                              "in the corner; red: another digit)")
    ax = fig.axes[0]
    for row, (truth, code, pixels) in enumerate(zip(query_labels.tolist(), by_code, by_pixels)):
        for col, i in [*zip(range(2, k + 2), code.tolist()), *zip(range(k + 3, 2 * k + 3), pixels.tolist())]:
            ax.text(2 + 30 * col + 27, 2 + 30 * row + 27, str(labels[i].item()), fontsize=7, ha="right",
                    va="bottom", fontweight="bold", color="red" if labels[i].item() != truth else "tab:green")
    centres = [16, 2 + 30 * (2 + k / 2) - 1, 2 + 30 * (k + 3 + k / 2) - 1]
    ax.set_xticks(centres, ["test digit", "nearest by the code", "nearest by the pixels"], fontsize=8)
    return fig
