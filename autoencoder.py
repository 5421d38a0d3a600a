"""An autoencoder squeezes each MNIST digit into 3 numbers and rebuilds it from them.

The "404 autoencoder" lesson of Morvan Zhou's PyTorch tutorial, on today's PyTorch and matplotlib.
The lesson comes first, in the tutorial's order and with its names, down to the line that says
"The lesson ends here"; everything below that line goes beyond the tutorial.

    python autoencoder.py                   # the tutorial: 10 epochs, a live window if there is a screen
    python autoencoder.py --code-size 2     # the network's shape is a constant below, and a flag
    python autoencoder.py --help            # every flag, with its default from the constants below
"""
import argparse
import collections
import contextlib
import csv
import errno
import gc
import io
import json
import math
import os
import pathlib
import pickle
import signal
import socket
import struct
import sys
import tempfile
import time
import zlib

import matplotlib.figure
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import PIL.Image
import torch
import torchvision
from matplotlib import cm
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends import backend_registry
from mpl_toolkits.mplot3d import proj3d
from torch import nn

# ---- Hyper Parameters: the defaults of the command-line flags, so editing them changes the run

EPOCH = 10
BATCH_SIZE = 64
LR = 0.005              # learning rate
DOWNLOAD_MNIST = True   # fetch MNIST into DATA_DIR when it is not there yet
N_TEST_IMG = 5          # digits shown in the live figure
SEED = 1                # reproducible
DATA_DIR = "./mnist/"
OUT_DIR = "./results/"  # each run in a folder of its own in it, named after the flags it changes
LOSS = "mse"            # mse, the tutorial's; or bce, the cross-entropy of Hinton & Salakhutdinov
SCHEDULE = "constant"   # the learning rate over the run: constant, the tutorial's; onecycle; cosine
LOG_EVERY = 100         # steps between loss lines and figure updates, as in the tutorial
N_PLOT = 200            # codes drawn in the 3-D scatter

# The network's shape: the encoder narrows 784 pixels through HIDDEN to CODE_SIZE numbers,
# and the decoder mirrors it back to 784 pixels
HIDDEN = (128, 64, 12)  # sizes of the encoder's hidden layers, from the pixels inwards
CODE_SIZE = 3           # numbers in each code: 3 can be drawn in 3-D
ACTIVATION = "tanh"     # tanh, relu, elu, sigmoid, or linear (no non-linearity at all)
WEIGHT_DECAY = 0.0      # L2 penalty on the weights, through Adam's weight_decay
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid, "linear": None}
# The defaults of the flags beyond the lesson (NOISE, VARIATIONAL, ...) sit below it, in the
# command line's section


# ---- Mnist digits dataset ----------------------------------------------------------------------

def load_mnist(root, train=True, download=DOWNLOAD_MNIST):
    """MNIST as torchvision reads it: uint8 images (N, 28, 28) and int64 labels (N,)."""
    check_data_files(root, download)    # below: a damaged or gzipped file, named in one line
    with download_errors_in_one_line(root, download):
        mnist = torchvision.datasets.MNIST(root, train=train, download=download)
    return mnist.data, mnist.targets


def to_float_images(images, device):
    """uint8 (N, 28, 28) -> float (N, 784) in [0, 1] on device, converted once for all epochs."""
    return images.reshape(len(images), -1).to(device).float().div_(255)


def batches(images, batch_size, noise=0.0, dropout=0.0):
    """(b_x, b_y) slices in a fresh random order: the DataLoader's shuffle, without a per-image
    copy. b_y is the target; b_x the input, b_y itself but for the denoising variants below."""
    order = torch.randperm(len(images), device=images.device)
    for start in range(0, len(images), batch_size):
        b_y = images[order[start:start + batch_size]]   # (batch, 784)
        yield corrupt(b_y, noise, dropout), b_y


# ---- AutoEncoder: the model --------------------------------------------------------------------

class AutoEncoder(nn.Module):
    def __init__(self, hidden=HIDDEN, code_size=CODE_SIZE, activation=ACTIVATION):
        super().__init__()
        sizes = [28 * 28, *hidden, code_size]       # 784, 128, 64, 12, 3 in the tutorial
        self.encoder = nn.Sequential(*layers(sizes, activation))        # compress to the code
        self.decoder = nn.Sequential(*layers(sizes[::-1], activation))  # and rebuild from it
        if activation != "linear":
            self.decoder.append(nn.Sigmoid())       # pixels back into (0, 1)

    def forward(self, x):
        encoded = self.encoder(x)           # (batch, code size)
        decoded = self.decoder(encoded)     # (batch, 784)
        return encoded, decoded


def layers(sizes, activation):
    """Linear layers from sizes[0] to sizes[-1], the activation between each two (none after
    the last): [784, 128, 64] gives Linear(784, 128), Tanh(), Linear(128, 64)."""
    modules = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        if modules and ACTIVATIONS[activation]:
            modules.append(ACTIVATIONS[activation]())
        modules.append(nn.Linear(n_in, n_out))
    return modules


# ---- Optimizer, loss and training, with the live figure ----------------------------------------

def make_optimizer(autoencoder, lr=LR, weight_decay=WEIGHT_DECAY):
    # fused: one kernel updates all parameters at once, a third faster per step than the default
    return torch.optim.Adam(autoencoder.parameters(), lr=lr, weight_decay=weight_decay, fused=True)


loss_func = nn.MSELoss()    # the mean squared error per pixel, between image and reconstruction


@contextlib.contextmanager
def evaluating(autoencoder):
    """Eval mode (a VAE's mean code, not a random draw), no gradients; then the mode it was in."""
    training = autoencoder.training
    autoencoder.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        autoencoder.train(training)


class LiveFigure:
    """view_data on top, their reconstructions below, redrawn every LOG_EVERY steps. show:
    "window", "notebook", "pictures" or None for files only (how_to_show below decides)."""
    def __init__(self, view_data, show, code_size=CODE_SIZE):
        self.view_data, self.show, self.code_size = view_data, show, code_size
        rows = 3 if code_size > 3 else 2    # below: a row for codes too long for the 3-D scatter
        # without a window: a Figure outside pyplot, drawn only into files and pictures
        self.fig = (plt.figure if show == "window" else matplotlib.figure.Figure)(
            figsize=(max(5, len(view_data)), 1.2 * rows))
        a = self.fig.subplots(rows, len(view_data), squeeze=False)
        for ax, img in zip(a[0], view_data.cpu().view(-1, 28, 28).numpy()):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)     # the original digits, first row
        # fixed grey scale, so a blurry early reconstruction looks blurry instead of stretched
        self.recon = [ax.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1) for ax in a[1]]
        self.codes = code_row(a[2:], code_size)     # below; none for codes of 3 numbers
        for ax in a.flat:
            ax.set(xticks=(), yticks=())
        a[0, 0].set_ylabel("input")
        a[1, 0].set_ylabel("output")
        self.frames = []    # (title, reconstructions, codes) of every update, for the animation
        self.painter = self.output = None   # below: pictures drawn off screen, when first needed
        if show == "window":
            plt.ion()   # continuously plot
            plt.show(block=False)

    def update(self, autoencoder, title):
        with evaluating(autoencoder):
            encoded_data, decoded_data = autoencoder(self.view_data)
        self.frames.append((title, decoded_data.cpu(), encoded_data.cpu()))
        self.draw(*self.frames[-1])
        if self.show == "window":   # otherwise nothing is drawn until a picture is made
            self.fig.canvas.draw_idle()
            self.fig.canvas.start_event_loop(0.001)     # lets the window redraw now
        elif self.show == "notebook":   # below: one picture in the cell, replaced each time
            self.output = show_in_notebook(paint(self, self.frames[-1]), self.output)

    def draw(self, title, decoded_data, encoded_data):
        for im, img in zip(self.recon, decoded_data.view(-1, 28, 28).numpy()):
            im.set_data(img)    # in place: far cheaper than clearing the axes and calling imshow
        draw_codes(self.codes, encoded_data, self.code_size)
        self.title = self.fig.suptitle(title, fontsize=10)


def train(args, autoencoder, optimizer, images, epoch, history, figure=None, stop=None):
    """One epoch of Adam on loss_func between each image and its reconstruction. Returns False
    if a stop signal ended it early; the log below raises FloatingPointError on a non-number."""
    autoencoder.train()
    loss_func = training_loss(args, autoencoder)    # below: loss_func above, or --loss bce's
    scheduler = make_scheduler(args, optimizer, epoch, len(images))     # below: --schedule's
    log = TrainingLog(epoch, images, args.batch_size, history)     # below: the bookkeeping
    for step, (b_x, b_y) in enumerate(batches(images, args.batch_size, args.noise, args.dropout)):
        encoded, decoded = autoencoder(b_x)
        loss = loss_func(decoded, b_y)      # mean squared error, unless --loss bce
        optimizer.zero_grad(set_to_none=True)   # dropping the old gradients is cheaper than zeroing
        loss.backward()                     # backpropagation, compute gradients
        optimizer.step()                    # apply gradients
        scheduler.step()                    # the next step's learning rate: constant by default
        log.keep(step, loss)

        if step % LOG_EVERY == 0:           # every 100 steps: the loss, and the figure redrawn
            value = loss.item()             # the only wait for the device between log lines
            progress = log.record(step, value)  # below: stops on a loss that is not a number
            print(f"Epoch:  {epoch} | train loss: {value:.4f} | {progress}")
            if figure is not None:
                figure.update(autoencoder, f"epoch {epoch}, step {step}: loss {value:.4f}")
        if stop is not None and stop.requested:
            break
    return log.finish(autoencoder, step, stop)


# ---- Visualize the codes in 3-D ----------------------------------------------------------------

def codes(autoencoder, images, batch_size=1000):
    """The code of each image, (N, code size): the encoder alone, in batches, without training."""
    with evaluating(autoencoder):
        return torch.cat([autoencoder.encoder(x) for x in images.split(batch_size)])


def plot_latent(encoded, labels, axis="code", title=""):
    """The tutorial's 3-D scatter: each code drawn as its digit, in that digit's colour."""
    X, Y, Z = encoded.cpu().numpy().T
    fig = plt.figure(figsize=(6, 5.5))
    ax = fig.add_subplot(projection="3d")   # Axes3D(fig) leaves the figure blank on matplotlib >= 3.6
    for x, y, z, s in zip(X, Y, Z, labels.tolist()):
        ax.text(x, y, z, str(s), backgroundcolor=cm.rainbow(int(255 * s / 9)), fontsize=8)
    # text does not widen the axes, so limit them to the data by hand
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    ax.set_zlim(Z.min(), Z.max())
    ax.set(xlabel=f"{axis} 1", ylabel=f"{axis} 2", zlabel=f"{axis} 3")
    ax.set_title(title or f"Codes of {len(labels)} training digits (labels only colour them)",
                 fontsize=10)
    return fig


# ---- main: the run's steps ---------------------------------------------------------------------

def main(argv=None):
    clock = Clock()             # below: where the run's time goes
    args = parse_args(argv)     # the hyperparameters above, or the flags that override them
    make_out_dir(args.out_dir)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    print(f"Device: {device}")

    train_x, train_y = keep_digits(*load_mnist(args.data_dir, download=args.download),
                                   args.train_digits)      # below: all ten digits by default
    test_x, test_y = load_mnist(args.data_dir, train=False, download=args.download)
    print(f"Training images: {tuple(train_x.shape)}, labels: {tuple(train_y.shape)}")
    images = to_float_images(train_x, device)       # (60000, 784)
    test_images = to_float_images(test_x, device)   # (10000, 784), never trained on

    autoencoder = build_autoencoder(args).to(device)    # AutoEncoder(args.hidden, ...), or a variant
    optimizer = make_optimizer(autoencoder, args.lr, args.weight_decay)
    history = resume(args.resume, args, autoencoder, optimizer) if args.resume else new_history()
    figure = LiveFigure(images[:args.n_test_img], how_to_show(args.no_show), args.code_size)
    clock.lap("data and model")

    with StopOnCtrlC() as stop:     # until the files are written: a stop signal saves first
        with exit_if_diverged(args):
            for epoch in range(len(history["test_loss"]), args.epochs):
                if not train(args, autoencoder, optimizer, images, epoch, history, figure, stop):
                    break           # stopped: the files are written below, then the run ends
                clock.lap("training")
                after_epoch(args, autoencoder, optimizer, test_images, history, figure)
                clock.lap("tests and checkpoints")
        end_training(args, autoencoder, optimizer, history, figure, stop)   # a stop saves first
        latent = plot_codes(codes(autoencoder, images[:N_PLOT]), train_y[:N_PLOT])  # plot_latent
        write_results(args, autoencoder, optimizer, history, figure, latent,
                      (images, train_y, test_images, test_y), stop, clock)
    if figure.show == "window":
        plt.ioff()
        plt.show()      # blocks until the windows are closed, as in the tutorial
    plt.close("all")


# ================================================================================================
# The lesson ends here. Everything below goes beyond the tutorial, each part in its own section,
# roughly in the order main() meets it.
# ================================================================================================

# ---- Beyond the tutorial: the command line -----------------------------------------------------

MAX_TEST_IMG = 20       # more columns than this no longer fit a window
GIF = True              # write the two animations (--no-gif: a quicker end)
# Variants beyond the tutorial, all off by default (docs/what-the-codes-learned.md compares them)
NOISE = 0.0             # denoising: std of the Gaussian noise added to the training inputs
DROPOUT = 0.0           # fraction of input pixels dropped at random in training
VARIATIONAL = False     # a variational autoencoder: each code is a mean and a spread
KL_WEIGHT = 0.001       # weight of the VAE's KL term against the per-pixel squared error
VAE_LR = 0.001          # the learning rate with VARIATIONAL: at LR its noisy codes often collapse
TIED = False            # the decoder uses the encoder's weight matrices, transposed
SPARSITY = 0.0          # sparse: W x the sum of |code numbers| per image (mean over a batch) added
CONTRACTIVE = 0.0       # contractive: W x |dcode/dpixels|^2 per image (the Jacobian's, exactly) added
ADVERSARIAL = False     # adversarial: a discriminator pulls the codes towards the prior N(0, I)
CONV = False            # ConvAutoEncoder: 3x3 convolutions and 2x2 max-pools before the HIDDEN layers
CHANNELS = (16, 32)     # with CONV: each convolution's channels; each pool halves 28x28: 14x14, 7x7
CONV_LR = 0.001         # the learning rate with CONV: at LR its tanh layers stall at the mean image
# What the recipes below need beyond the tutorial's network, all the tutorial's by default
CODE_ACTIVATION = "none"    # an activation on the code too (the AE/VAE notes put a ReLU there)
OUTPUT = "sigmoid"      # the decoder's last activation; linear: none (Hands-On ML's stacked autoencoder)
INIT = "pytorch"        # PyTorch's default initial weights; he: He's, as Hands-On ML's autoencoders
L2 = 0.0                # W x sum(w^2) / 2 over the weight matrices, added to the loss (not biases)
SPREAD = "log-variance"     # a VAE's spread: a log-variance layer; std: the standard deviation itself
TRAIN_DIGITS = tuple(range(10))     # all ten; (3,): a one-class run, which spots the other digits


class Parser(argparse.ArgumentParser):
    def error(self, message):   # one line that names the flag; --help has the full usage
        self.exit(2, f"{self.prog}: error: {message}\n")


def number(kind, check=lambda value: value > 0, allowed="above 0"):
    """An argparse type: a finite `kind` that passes check, with an error that says what is allowed."""
    noun = "whole number" if kind is int else "finite number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None
        if not (math.isfinite(value) and check(value)):
            raise argparse.ArgumentTypeError(f"{text} is not allowed: use a {noun} {allowed}")
        return value
    return parse


AT_LEAST_0 = number(float, lambda x: x >= 0, "of 0 or more")


def parse_args(argv=None):
    parser = Parser(description="Train the tutorial's MNIST autoencoder and plot its codes. Defaults "
                                "are the constants in autoencoder.py (the hyperparameters at its top).")
    add_run_flags(parser)
    add_network_flags(parser)
    add_variant_flags(parser)
    args = parser.parse_args(argv)
    args.hidden = list(args.hidden)     # the same type from the constant and from the flag
    args.train_digits = list(args.train_digits)
    args.channels = list(args.channels)
    args.schedule_start = 0     # the epoch where --schedule starts; a --resume may start anew
    given = flags_given(parser, argv, args)
    if args.name and "out_dir" in given:
        parser.error("argument --name: --out-dir names the folder already: use --name or --out-dir")
    if args.resume:     # below: the checkpoint's flags, except those given again
        continue_run(args, given)
    elif args.recipe:   # below: a named system's flags, except those given
        use_recipe(args, given)
    if args.lr is None:
        args.lr = VAE_LR if args.variational else CONV_LR if args.conv else LR
    check_flags(parser, args)
    changed = changed_flags(parser, vars(args))
    args.changed = " ".join(changed)    # for runs.csv
    if args.out_dir is None:    # below: OUT_DIR/--name, or the flags this run changes
        args.out_dir = os.path.join(OUT_DIR, args.name or run_name(changed))
    if args.tensorboard:
        try:    # here, not after an epoch: a missing or broken install is one line
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError:
            say("--tensorboard needs the tensorboard package: pip install tensorboard (this run "
                "goes on without it)")
            args.tensorboard = False
    if args.recipe:
        print(f"Recipe {args.recipe}: {RECIPES[args.recipe][0]}")
    return args


def check_flags(parser, args):
    """Flags that cannot go together end in one line, as argparse's own errors do."""
    if args.loss == "bce" and (args.activation == "linear" or args.output == "linear"):
        parser.error("argument --loss: bce needs pixels between 0 and 1, which the final sigmoid "
                     "gives, and --activation linear or --output linear has none: use --loss mse")
    most, source = (math.prod(conv_map(args.channels)), "--conv's last map") if args.conv else (
        28 * 28, "an image")
    if args.code_size > most:
        parser.error(f"argument --code-size: {args.code_size} is not allowed: use a whole number "
                     f"from 1 to {most}, the numbers {source} holds")
    if args.conv:
        check_conv_flags(parser, args)
    elif args.channels != list(CHANNELS):
        parser.error("argument --channels: only a convolutional autoencoder has channels: add "
                     "--conv, or leave --channels out")
    if args.variational and (args.adversarial or args.sparsity or args.contractive):
        other = "--adversarial" if args.adversarial else "--sparsity" if args.sparsity else "--contractive"
        parser.error(f"argument {other}: a variational autoencoder's KL term already shapes its "
                     f"codes: use --variational or {other}, not both")
    if args.adversarial and (args.sparsity or args.contractive):
        other = "--sparsity" if args.sparsity else "--contractive"
        parser.error(f"argument {other}: with --adversarial the discriminator shapes the codes: "
                     f"use --adversarial or {other}, not both")
    if args.spread != SPREAD and not args.variational:
        parser.error("argument --spread: only a variational autoencoder has a spread: add "
                     "--variational, or leave --spread out")
    if args.device != "auto" and args.device not in available_devices():
        parser.error(f"argument --device: {args.device} is not available on this machine: "
                     "use --device auto or --device cpu")


def add_run_flags(parser):
    parser.add_argument("--epochs", type=number(int), default=EPOCH, metavar="N",
                        help="passes over the training set (default: %(default)s)")
    parser.add_argument("--batch-size", type=number(int), default=BATCH_SIZE, metavar="N",
                        help="images per training step (default: %(default)s)")
    parser.add_argument("--lr", type=number(float),
                        help=f"Adam's learning rate (default: {LR}, or {VAE_LR} with --variational "
                        f"or {CONV_LR} with --conv)")
    parser.add_argument("--loss", choices=["mse", "bce"], default=LOSS,
                        help="mse: the mean squared error per pixel; bce: the cross-entropy per "
                        "pixel of Hinton & Salakhutdinov (2006) (default: %(default)s)")
    parser.add_argument("--schedule", choices=["constant", "onecycle", "cosine"], default=SCHEDULE,
                        help="the learning rate over the run: constant at --lr; onecycle: up to "
                        "--lr in the first 30%% of the steps, then down to almost 0; cosine: from "
                        "--lr down to 0 (default: %(default)s)")
    parser.add_argument("--n-test-img", default=N_TEST_IMG,
                        type=number(int, lambda n: 0 < n <= MAX_TEST_IMG, f"from 1 to {MAX_TEST_IMG}"),
                        metavar="N", help=f"digits in the live figure, 1 to {MAX_TEST_IMG} "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=number(int, lambda n: 0 <= n < 2 ** 32, "from 0 to 2**32-1"),
                        default=SEED, metavar="N", help="random seed (default: %(default)s)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                        help="auto picks CUDA, then MPS, then the CPU (default: %(default)s)")
    parser.add_argument("--data-dir", default=DATA_DIR, metavar="DIR",
                        help="MNIST root, the folder that holds MNIST/raw/ (default: %(default)s)")
    parser.add_argument("--out-dir", metavar="DIR",
                        help="folder for the pictures, animations, checkpoint and metrics.json "
                        f"(default: a folder in {OUT_DIR} named after the flags that change the "
                        "run, such as code-size-2; tutorial for none)")
    parser.add_argument("--name", type=folder_name, help=f"the run's folder in {OUT_DIR}, instead of "
                        "the name its flags give it")
    parser.add_argument("--tensorboard", action="store_true", help="also log the losses, the live "
                        "figure, the flags and the codes for TensorBoard, into the run's folder "
                        "(needs: pip install tensorboard)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        default=DOWNLOAD_MNIST, help="never download MNIST: use only the files "
                        "already in --data-dir (downloading when missing: %(default)s)")
    parser.add_argument("--no-show", action="store_true",
                        help="open no windows, only write the files")
    parser.add_argument("--no-gif", dest="gif", action="store_false", default=GIF,
                        help="skip the two animations, for a quicker end (writing them: %(default)s)")
    parser.add_argument("--resume", metavar="PATH",
                        help="continue training from the autoencoder.pt of an earlier run")
    parser.add_argument("--recipe", choices=list(RECIPES), help="every flag of a named system "
                        "at once, as its source wrote it; flags given beside it override single "
                        "values (default: none, the constants above)")


def add_network_flags(parser):
    network = parser.add_argument_group("the network's shape (the tutorial's by default)")
    network.add_argument("--hidden", type=layer_sizes, default=HIDDEN, metavar="N,N,...",
                         help="sizes of the encoder's hidden layers, from the pixels inwards; the "
                         "decoder mirrors them; '' for none (default: %s)" % show_value(HIDDEN))
    network.add_argument("--code-size", default=CODE_SIZE, metavar="N",
                         type=number(int), help="numbers in each code, 1 to 784, or with --conv "
                         "as many as its last map holds (default: %(default)s)")
    network.add_argument("--activation", choices=list(ACTIVATIONS), default=ACTIVATION,
                         help="between the layers; linear: none anywhere, not even the final "
                         "sigmoid (default: %(default)s)")
    network.add_argument("--weight-decay", type=AT_LEAST_0, default=WEIGHT_DECAY, metavar="W",
                         help="L2 penalty on every parameter, biases too, through Adam's "
                         "weight_decay (default: %(default)s)")
    network.add_argument("--code-activation", choices=["none", *filter(ACTIVATIONS.get, ACTIVATIONS)],
                         default=CODE_ACTIVATION, help="an activation on the code too "
                         "(default: %(default)s)")
    network.add_argument("--output", choices=["sigmoid", "linear"], default=OUTPUT,
                         help="the decoder's last activation; linear: none (default: %(default)s)")
    network.add_argument("--init", choices=["pytorch", "he"], default=INIT,
                         help="initial weights: PyTorch's default, or He's, truncated normal of std "
                         "sqrt(2 / inputs), biases 0 (default: %(default)s)")
    network.add_argument("--conv", action="store_true", default=CONV,
                         help="a convolutional autoencoder: 3x3 convolutions, each followed by a "
                         "2x2 max-pool, before the --hidden layers; the decoder mirrors them with "
                         "upsampling (default: %(default)s)")
    network.add_argument("--channels", type=channel_list, default=CHANNELS, metavar="N,N,...",
                         help="with --conv: channels of each convolution, 1 to 5 of them, from the "
                         "pixels inwards (default: %s)" % show_value(CHANNELS))
    network.add_argument("--l2", type=AT_LEAST_0, default=L2, metavar="W",
                         help="add W x sum(w^2) / 2 over the weight matrices to the loss, biases "
                         "never; tied weights count once (default: %(default)s)")


def add_variant_flags(parser):
    variants = parser.add_argument_group("variants beyond the tutorial (all off by default)")
    variants.add_argument("--noise", type=AT_LEAST_0, default=NOISE, metavar="STD",
                          help="denoising: add Gaussian noise of this std to the training inputs "
                          "(default: %(default)s)")
    variants.add_argument("--dropout", type=number(float, lambda p: 0 <= p < 1, "from 0 to below 1"),
                          default=DROPOUT, metavar="P",
                          help="drop this fraction of input pixels in training (default: %(default)s)")
    variants.add_argument("--variational", action="store_true", default=VARIATIONAL,
                          help="a variational autoencoder (default: %(default)s)")
    variants.add_argument("--kl-weight", type=AT_LEAST_0, default=KL_WEIGHT, metavar="W",
                          help="with --variational: weight of the KL term (default: %(default)s)")
    variants.add_argument("--tied", action="store_true", default=TIED,
                          help="the decoder reuses the encoder's weights, transposed "
                          "(default: %(default)s)")
    variants.add_argument("--sparsity", type=AT_LEAST_0, default=SPARSITY, metavar="W",
                          help="sparse: add W x the sum of the code's absolute values per image, "
                          "the mean over the batch (Keras's L1 activity regulariser; the Keras "
                          "blog's W is 1e-4) (default: %(default)s)")
    variants.add_argument("--contractive", type=AT_LEAST_0, default=CONTRACTIVE, metavar="W",
                          help="contractive: add W x the squared Frobenius norm of dcode/dpixels "
                          "per image, computed exactly, the mean over the batch (default: %(default)s)")
    variants.add_argument("--adversarial", action="store_true", default=ADVERSARIAL,
                          help="adversarial: as each batch comes in, a discriminator learns to tell the "
                          "codes from draws of N(0, I), then the encoder to fool it "
                          "(default: %(default)s)")
    variants.add_argument("--train-digits", type=digit_list, default=TRAIN_DIGITS, metavar="D,D,...",
                          help="train on these digits only, such as 3 or 3,5,8, and measure how "
                          "well the reconstruction error spots the others (default: %s)"
                          % show_value(TRAIN_DIGITS))
    variants.add_argument("--spread", choices=["log-variance", "std"], default=SPREAD,
                          help="with --variational: a layer beside the code's gives each number's "
                          "log-variance, or its standard deviation itself (default: %(default)s)")


def flags_given(parser, argv, args):
    """The names of the flags that the command line gives, rather than leaving at their defaults."""
    unset = object()    # argparse fills in a default only where the namespace has no value
    given = parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(vars(args), unset)))
    return {name for name, value in vars(given).items() if value is not unset}


def layer_sizes(text):
    """An argparse type: whole numbers above 0 separated by commas, such as 128,64,12; '' for none."""
    allowed = "use whole numbers above 0 separated by commas, such as 128,64,12, or '' for none"
    try:
        sizes = [int(size) for size in text.split(",")] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of sizes: {allowed}") from None
    if min(sizes, default=1) <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: {allowed}")
    return sizes


def channel_list(text):
    """An argparse type: 1 to 5 channel counts above 0 (each pool halves the map: 28x28 to 1x1)."""
    sizes = layer_sizes(text)
    if not 1 <= len(sizes) <= 5:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use 1 to 5 whole numbers above "
                                         "0 separated by commas, such as 16,32")
    return sizes


def digit_list(text):
    """An argparse type: digits 0 to 9 separated by commas, such as 3 or 3,5,8; sorted, once each."""
    allowed = "use digits from 0 to 9 separated by commas, such as 3 or 3,5,8"
    try:
        digits = sorted({int(digit) for digit in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of digits: {allowed}") from None
    if not 0 <= digits[0] <= digits[-1] <= 9:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: {allowed}")
    return digits


def show_value(value):
    """A flag's value as it is typed: --hidden 128,64,12 rather than [128, 64, 12]."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "''"
    return value


def available_devices():
    """The devices this machine has, in the order --device auto prefers them."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    return [name for name, present in has.items() if present]


def pick_device(name):
    return torch.device(available_devices()[0] if name == "auto" else name)


def make_out_dir(path):
    """Create the output folder and hold it for this run; exit with one line if it cannot be
    made or written to, or another live run writes into it."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as err:
        sys.exit(f"error: cannot write into the output folder {path} ({err.strerror}): "
                 "choose another with --out-dir")
    hold_folder(path)   # below: one live run per folder


def keep_digits(images, labels, digits):
    """The images (N, 28, 28) and labels (N,) of digits only: all of them unless --train-digits."""
    if len(digits) == 10:
        return images, labels
    keep = torch.isin(labels, torch.tensor(digits))
    return images[keep], labels[keep]


# ---- Beyond the tutorial: recipes, named systems as their sources wrote them -------------------

# --recipe NAME: (where it comes from, its flag values). Each source trains with the squared error
# per pixel and Adam unless it says otherwise. Add your own: a name, a line, the flags' values.
RECIPES = {
    "tutorial": ("Morvan Zhou's PyTorch tutorial, 404_autoencoder.py: the lesson above, Adam "
                 "0.005 (0.001 with --variational, as without the recipe)",
                 {"hidden": [128, 64, 12], "code_size": 3, "activation": "tanh", "batch_size": 64,
                  "epochs": 10}),
    "notes-relu": ("the PyTorch AE/VAE notes' AE: 784-256-64-20, ReLU after every layer but the "
                   "output's, the code's too; Adam 1e-3, batch 32; 10 epochs, not their 1000 (nearly "
                   "2 hours here)",
                   {"hidden": [256, 64], "code_size": 20, "activation": "relu",
                    "code_activation": "relu", "lr": 0.001, "batch_size": 32, "epochs": 10}),
    "notes-vae": ("the PyTorch AE/VAE notes' VAE: the AE's encoder, its 20 outputs split into 10 "
                  "means and 10 standard deviations; the KL term over the batch's pixels added to "
                  "the MSE, that is 1/784 per image; 10 epochs, not their 1000",
                  {"hidden": [256, 64], "code_size": 10, "activation": "relu",
                   "code_activation": "relu", "variational": True, "spread": "std",
                   "kl_weight": 1 / 784, "lr": 0.001, "batch_size": 32, "epochs": 10}),
    "homl-linear": ("Hands-On Machine Learning, ch. 15: a linear autoencoder performs PCA (there "
                    "3-D points to 2 numbers, full batch; here MNIST, batches of 64), Adam 0.01",
                    {"hidden": [], "code_size": 2, "activation": "linear", "lr": 0.01,
                     "batch_size": 64, "epochs": 10}),
    "homl-stacked": ("Hands-On Machine Learning, ch. 15: a stacked autoencoder 784-300-150-300-784, "
                     "ELU (the code's too), a linear output, He initialisation, L2 0.001 on the "
                     "weights; Adam 0.001, batch 150, 30 epochs",
                     {"hidden": [300], "code_size": 150, "activation": "elu", "code_activation": "elu",
                      "output": "linear", "init": "he", "l2": 0.001, "lr": 0.001, "batch_size": 150,
                      "epochs": 30}),
    "homl-tied": ("Hands-On Machine Learning, ch. 15: the stacked autoencoder with tied weights, "
                  "L2 0.001 on the encoder's (so once each); Adam 0.01, batch 150, 5 epochs",
                  {"hidden": [300], "code_size": 150, "activation": "elu", "code_activation": "elu",
                   "output": "linear", "init": "he", "l2": 0.001, "tied": True, "lr": 0.01,
                   "batch_size": 150, "epochs": 5}),
    "reruns-64": ("a re-run of the tutorial that widens the code to 64 numbers, drawn 8x8",
                  {"code_size": 64}),
    "keras-conv": ("the Keras blog's deep convolutional autoencoder (Chollet, 2016): 3x3 "
                   "convolutions of 16, 8 and 8 channels with ReLU, each with a 2x2 max-pool, so "
                   "the code is the 8x4x4 map, 128 numbers; the decoder mirrors it with upsampling "
                   "(here 4x4 to 7x7 at once, where the blog goes to 8x8 and trims later); "
                   "cross-entropy, Adam, batch 128, 50 epochs; it reports a loss of 0.094",
                   {"conv": True, "channels": [16, 8, 8], "hidden": [], "code_size": 128,
                    "activation": "relu", "loss": "bce", "lr": 0.001, "batch_size": 128,
                    "epochs": 50}),
    "keras-denoising-conv": ("the Keras blog's convolutional denoising autoencoder: 32 and 32 "
                             "channels, so the code is the 32x7x7 map (1,568 numbers, more than "
                             "the pixels: it learns to clean, not to compress); Gaussian noise of "
                             "0.5 clipped to 0-1; cross-entropy, Adam, batch 128, 100 epochs",
                             {"conv": True, "channels": [32, 32], "hidden": [], "code_size": 1568,
                              "activation": "relu", "noise": 0.5, "loss": "bce", "lr": 0.001,
                              "batch_size": 128, "epochs": 100}),
    "keras-sparse": ("the Keras blog's sparse autoencoder: one layer of 32 ReLU numbers with an "
                     "L1 activity penalty of 10e-5 (1e-4), a sigmoid output; cross-entropy, Adam, "
                     "batch 256, 100 epochs; it reports a mean code of 3.33 (7.30 without the penalty)",
                     {"hidden": [], "code_size": 32, "activation": "relu", "code_activation": "relu",
                      "sparsity": 1e-4, "loss": "bce", "lr": 0.001, "batch_size": 256, "epochs": 100}),
    "hinton2006": ("the reproduction of Hinton & Salakhutdinov (2006) in docs/the-2006-table.md: "
                   "784-1000-500-250-30 ELU, cross-entropy, one-cycle to 0.002, batch 128, 40 epochs",
                   {"hidden": [1000, 500, 250], "code_size": 30, "activation": "elu",
                    "batch_size": 128, "lr": 0.002, "schedule": "onecycle", "loss": "bce",
                    "epochs": 40}),
}


def use_recipe(args, given):
    """The recipe's flag values in args, but for the flags given (the names of flags_given)."""
    for name, value in RECIPES[args.recipe][1].items():
        if name not in given:   # a copy: a run must not change the recipe's lists
            setattr(args, name, list(value) if isinstance(value, list) else value)


# ---- Beyond the tutorial: each run's folder, named after its flags and held while it runs -------

# Without --out-dir, each run writes into OUT_DIR/<its name>: --name, or the flags it changes
LIVE_RUN = ".live-run"          # in a run's folder: locked while a run writes into it
# not part of a run's name: how it is shown or stored, and how long it trains, so that --epochs 2
# and --epochs 20 of one network are one experiment, in one folder (--name one on other data)
NOT_IN_NAME = {"epochs", "n_test_img", "device", "data_dir", "out_dir", "download", "no_show",
               "gif", "resume", "name", "tensorboard", "recipe"}
HELD = {}       # the folders this process holds (main() runs one at a time): path -> open lock file
# what a lock that another process holds raises; other errors mean a file system without locks
LOCK_HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


def changed_flags(parser, config):
    """The flags whose values differ from the defaults, or from the recipe's, as typed
    (--code-size 2, --tied): --recipe first, then the others in --help's order."""
    recipe = RECIPES[config["recipe"]][1] if config.get("recipe") else {}
    changed = [f"--recipe {config['recipe']}"] if recipe else []
    for action in parser._actions:
        name = action.dest
        if name in NOT_IN_NAME or name not in config or name == "help":
            continue
        default = recipe.get(name, parser.get_default(name))
        if name == "lr" and default is None:
            default = VAE_LR if config["variational"] else CONV_LR if config["conv"] else LR
        if show_value(config[name]) != show_value(default):
            flag = "--" + name.replace("_", "-")
            changed.append(flag if config[name] is True else f"{flag} {show_value(config[name])}")
    return changed


def run_name(changed):
    """The folder's name from changed_flags: tutorial for none, else code-size-2,
    recipe-homl-stacked_lr-0.01."""
    parts = [flag[2:].replace(" ", "-") for flag in changed]
    return "_".join(parts).replace(",", "-").replace("''", "none") or "tutorial"


def folder_name(text):
    """An argparse type for --name: one folder, no path."""
    if not text.isascii() or not all(c.isalnum() or c in "_.-" for c in text) or text in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder name: use letters, digits, "
                                         "'-', '_' and '.', such as relu-2")
    return text


def lock_file(file, wait):
    """An exclusive lock on an open file, which the system drops when the file closes or the
    process ends, however it ends. OSError when another process holds it and not wait."""
    if os.name == "nt":
        import msvcrt
        file.seek(1 << 20)      # a byte beyond the text that other runs read
        msvcrt.locking(file.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
    else:
        import fcntl
        fcntl.flock(file, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))


def hold_folder(path):
    """One live run per folder: a lock on path/LIVE_RUN, so a folder left by a killed run is free.
    Exits in one line when another live run holds it. An earlier run in this process (a notebook
    or a test calls main() again) lets its folder go first."""
    end_runs()
    name = os.path.join(path, LIVE_RUN)
    while True:
        lock = None
        try:
            lock = open(name, "a+")
            lock_file(lock, wait=False)
        except OSError as err:
            if lock is not None and err.errno in LOCK_HELD:
                lock.seek(0)
                who = lock.read().strip() or "another run"
                sys.exit(f"error: {path} is in use by a live run ({who}): let it finish, or run "
                         "beside it with --name NAME or --out-dir DIR")
            if lock is not None:    # a file system without locks (some network drives)
                lock.close()
            say(f"note: cannot lock {name} ({err.strerror}): a second run into {path} would not "
                "be stopped")
            return
        with contextlib.suppress(OSError):  # a run that ended removed the file we locked: again
            if os.path.samestat(os.fstat(lock.fileno()), os.stat(name)):
                break
        lock.close()
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}")
    lock.flush()
    HELD[path] = lock
    for stale in pathlib.Path(path).glob("*.part-*"):   # a killed run's half-written files
        with contextlib.suppress(OSError):
            stale.unlink()


def let_folder_go(path):
    """The lock file goes before the lock (hold_folder checks that it locked the file still
    there); Windows removes no open file, so there it goes after."""
    lock = HELD.pop(path, None)
    if lock is None:
        return
    with contextlib.suppress(OSError):
        if os.name != "nt":
            os.remove(lock.name)
        lock.close()
        if os.name == "nt":
            os.remove(lock.name)


def end_runs():
    """Every folder this process holds goes free, and every TensorBoard writer closes: at the
    script's end, after an error too, and before a notebook's next main()."""
    for held in list(HELD):
        let_folder_go(held)
    while BOARDS:
        BOARDS.popitem()[1].close()


# ---- Beyond the tutorial: the data files, checked and named in one line ------------------------

IDX_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def check_data_files(root, download):
    """Unpack .gz files put into MNIST/raw/ by hand, and exit with one line naming the file if
    an IDX file that is there is damaged. torchvision wants all four, whichever split it reads."""
    raw = os.path.join(root, "MNIST", "raw")
    unpacked = unpack_gz_files(raw, download)
    for split in (True, False):
        check_idx_files(raw, split, download, unpacked)


@contextlib.contextmanager
def download_errors_in_one_line(root, download):
    """A failed or stalled download, or files that are missing, end the run in one line."""
    raw = os.path.join(root, "MNIST", "raw")
    timeout = socket.getdefaulttimeout()    # restored after: a notebook's later cells keep theirs
    socket.setdefaulttimeout(10)    # a connection that stalls fails in seconds, not never
    put_files = f"put the four IDX files (train-images-idx3-ubyte, ...) into {raw}/ and run again"
    try:
        yield
    except RuntimeError as err:
        if not download and "not found" in str(err):
            sys.exit(f"error: MNIST is not in {raw}/: run without --no-download to fetch it, "
                     "or put the four IDX files there")
        if "Error downloading" in str(err):
            sys.exit(f"error: could not download MNIST (is this machine offline?): {put_files}")
        raise
    except OSError as err:      # a stalled connection, or a folder that cannot be written
        reason = "the connection timed out" if isinstance(err, TimeoutError) else err.strerror
        sys.exit(f"error: could not download MNIST ({reason or err}): {put_files}")
    finally:
        socket.setdefaulttimeout(timeout)


def unpack_gz_files(raw, download):
    """Unpack the IDX files that were put into raw/ gzipped, as the mirrors serve them
    (train-images-idx3-ubyte.gz, ...), with torchvision's own helper. Returns the paths
    unpacked, so that an error can name the .gz that the user put there."""
    unpacked = []
    for name in [*IDX_FILES[True], *IDX_FILES[False]]:
        path = os.path.join(raw, name)
        if os.path.exists(path) or not os.path.exists(path + ".gz"):
            continue
        try:
            with tempfile.TemporaryDirectory(dir=raw) as folder:    # never half a file at path
                torchvision.datasets.utils.extract_archive(path + ".gz", folder)
                os.replace(os.path.join(folder, name), path)
        except (OSError, EOFError, zlib.error) as err:      # not gzip, cut short, or no room
            sys.exit(f"error: could not unpack {path}.gz ({getattr(err, 'strerror', None) or err}): "
                     + ("delete it and run again to download it" if download else
                        "replace it with the original"))
        unpacked.append(path)
    return unpacked


def check_idx_files(raw, train, download, unpacked=()):
    """Exit with one line naming the file if the images or labels of one split are truncated
    or corrupt, or disagree in number."""
    fix = "delete {0} and run again to download {0}" if download else "replace {0} with the original"
    counts = []
    for name, shape in zip(IDX_FILES[train], [(28, 28), ()]):
        path = os.path.join(raw, name)
        if not os.path.exists(path):
            return      # torchvision downloads missing files, or says that they are missing
        try:
            problem, count = idx_problem(path, shape)
        except OSError as err:      # a folder, or a file this user may not read
            sys.exit(f"error: {path} cannot be read ({err.strerror or err}): " + fix.format("it"))
        if problem and path in unpacked:   # name the .gz, and unpack it again next time
            os.remove(path)
            sys.exit(f"error: {path}.gz unpacks to a damaged file: {name} {problem}: "
                     + fix.format("the .gz"))
        if problem:
            sys.exit(f"error: {path} {problem}: " + fix.format("it"))
        counts.append(count)
    if counts[0] != counts[1]:
        sys.exit(f"error: {raw}/ holds {counts[0]:,} images but {counts[1]:,} labels: "
                 + fix.format("both"))


def idx_problem(path, shape):
    """What is wrong with an IDX file, or None, and the number of items its header promises.

    An IDX file is a big-endian header, 0x00000803 and the sizes N, 28, 28 for images or
    0x00000801 and N for labels, followed by N*28*28 or N bytes.
    """
    with open(path, "rb") as f:
        header = f.read(4 * (2 + len(shape)))
    fields = struct.unpack(f">{len(header) // 4}I", header[:len(header) // 4 * 4])
    if fields[:1] != (0x0801 + len(shape),) or fields[2:] != shape or len(fields) < 2:
        return "is not an MNIST IDX file (its header is wrong)", None
    expected = len(header) + fields[1] * math.prod(shape)
    if os.path.getsize(path) != expected:
        return (f"has {os.path.getsize(path):,} bytes where its header promises {expected:,}: "
                "it is truncated or corrupt"), None
    return None, fields[1]


# ---- Beyond the tutorial: the variants, additions beside the tutorial's model ------------------

ADVERSARY_HIDDEN = (256, 256)   # --adversarial's discriminator, ReLU (the paper's: 1000, 1000)
ADVERSARY_LR = 0.0002           # Adam for the discriminator's steps and the encoder's against it
ADVERSARY_BETAS = (0.5, 0.999)  # a shorter memory of gradients than Adam's default, as for GANs

def build_autoencoder(args):
    """The tutorial's AutoEncoder, or the variant the flags ask for; says which."""
    if args.conv:
        autoencoder = ConvAutoEncoder(args.channels, args.hidden, args.code_size, args.activation)
    else:
        autoencoder = AutoEncoder(args.hidden, args.code_size, args.activation)
    extras = []     # what differs from the tutorial's kind of network, for the printed line
    if args.code_activation != "none":      # after the code layer: it bounds the code
        autoencoder.encoder.append(ACTIVATIONS[args.code_activation]())
        extras.append(f"{args.code_activation} on the code")
    if args.output == "linear" and isinstance(autoencoder.decoder[-1], nn.Sigmoid):
        del autoencoder.decoder[-1]         # pixels come out as they are, not squeezed into (0, 1)
        extras.append("a linear output")
    if args.variational:
        autoencoder = VariationalAutoEncoder(autoencoder, args.spread)
    if args.sparsity or args.contractive:
        autoencoder = PenalizedAutoEncoder(autoencoder, args.sparsity, args.contractive)
    if args.adversarial:
        autoencoder = AdversarialAutoEncoder(autoencoder, args.code_size)
    if args.init == "he":
        init_he(autoencoder)
        extras.append("He's initial weights")
    if args.tied:
        tie_weights(autoencoder)
    maps = ["x".join(map(str, conv_map(args.channels[:i]))) for i in range(len(args.channels) + 1)]
    inner = [*maps[1:], *args.hidden] if args.conv else args.hidden
    shape = [maps[0] if args.conv else 28 * 28, *inner, args.code_size, *inner[::-1],
             maps[0] if args.conv else 28 * 28]
    parameters = sum(p.numel() for p in own_parameters(autoencoder))
    others = sum(p.numel() for p in autoencoder.parameters()) - parameters
    print(f"{type(autoencoder).__name__}: {'-'.join(map(str, shape))}, {args.activation}, "
          + "".join(f"{extra}, " for extra in extras) + f"{parameters:,} parameters"
          + (f" (and the discriminator's {others:,})" if others else ""))
    return autoencoder


class ConvAutoEncoder(AutoEncoder):
    """Convolutions see a pixel's neighbours, not a row of 784 numbers. Each 3x3 convolution of
    channels is followed by a 2x2 max-pool that halves the map (28x28, 14x14, 7x7, 4x4, ...); the
    last map, flattened, goes through the hidden layers to the code, as in the AutoEncoder. The
    decoder mirrors it: back to the map, then at each size a 3x3 convolution and an upsampling,
    and a last convolution to the grey pixels. The Keras blog's layout; as there, a map of
    exactly code_size numbers without hidden layers is the code itself. Images stay (batch, 784)."""
    def __init__(self, channels=CHANNELS, hidden=HIDDEN, code_size=CODE_SIZE, activation=ACTIVATION):
        nn.Module.__init__(self)
        channels, act = list(channels), ACTIVATIONS[activation] or nn.Identity
        grid = conv_map(channels)                   # (32, 7, 7) for 16,32
        sides = [conv_map(channels[:i])[1] for i in range(len(channels))][::-1]  # 14, 28 for 16,32
        sizes = [math.prod(grid), *hidden, code_size]
        dense = layers(sizes, activation) if sizes != [code_size] * 2 else []   # Keras: none
        encoder = [nn.Unflatten(1, (1, 28, 28))]    # (batch, 784) -> (batch, 1, 28, 28)
        for n_in, n_out in zip([1, *channels], channels):
            encoder += [nn.Conv2d(n_in, n_out, 3, padding=1), act(), nn.MaxPool2d(2, ceil_mode=True)]
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), *dense)
        decoder = [*layers(sizes[::-1], activation), act()] if dense else []
        decoder.append(nn.Unflatten(1, grid))
        for n_in, n_out, side in zip(channels[-1:] + channels[:0:-1], channels[::-1], sides):
            decoder += [nn.Conv2d(n_in, n_out, 3, padding=1), act(), nn.Upsample(size=(side, side))]
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(channels[0], 1, 3, padding=1), nn.Flatten())
        if activation != "linear":
            self.decoder.append(nn.Sigmoid())       # pixels back into (0, 1)
        self.to(memory_format=torch.channels_last)  # oneDNN's quickest layout: benchmarks/speed.py


def conv_map(channels):
    """The map after ConvAutoEncoder's convolutions and pools: (channels, side, side); each 2x2
    pool halves the side, rounding up (Keras's padding "same"): 28, 14, 7, 4, 2, 1."""
    side = 28
    for _ in channels:
        side = math.ceil(side / 2)
    return (channels[-1] if channels else 1), side, side


def check_conv_flags(parser, args):
    """--conv with what cannot go with it ends in one line."""
    if args.tied:
        parser.error("argument --tied: --conv's decoder upsamples and has no transposed "
                     "convolutions to tie: leave --tied or --conv out")
    if args.variational and not args.hidden and args.code_size == math.prod(conv_map(args.channels)):
        parser.error("argument --variational: with --conv, a code as large as the last map and no "
                     "--hidden layers, the map is the code and there is no code layer beside which "
                     "to put the spread's: give --hidden or another --code-size")


class PenalizedAutoEncoder(AutoEncoder):
    """--sparsity and --contractive: the autoencoder's own layers, and in training a penalty on
    its codes, kept for the loss as a VAE keeps its KL term."""
    def __init__(self, autoencoder, sparsity=SPARSITY, contractive=CONTRACTIVE):
        nn.Module.__init__(self)    # the layers are autoencoder's: it made them already
        self.encoder, self.decoder = autoencoder.encoder, autoencoder.decoder
        self.sparsity, self.contractive, self.penalty = sparsity, contractive, 0.0

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if self.contractive:        # the Jacobian is taken with respect to the pixels
            x = x.detach().requires_grad_()
        encoded = self.encoder(x)
        self.penalty = self.sparsity * sparsity_penalty(encoded)
        if self.contractive:
            self.penalty = self.penalty + self.contractive * jacobian_norm2(encoded, x, True).mean()
        return encoded, self.decoder(encoded)


def sparsity_penalty(encoded):
    """Keras's L1 activity regulariser, as the Keras blog's sparse autoencoder uses it: the sum
    of the absolute code numbers of each image, the mean over the batch."""
    return encoded.abs().sum(1).mean()


def jacobian_norm2(encoded, x, create_graph=False):
    """The squared Frobenius norm of each image's Jacobian d encoded / d x, (batch,): exact, one
    backward pass per code number. An image's code depends on its own pixels only, so the
    gradient of a code number summed over the batch is each image's row of its Jacobian."""
    total = torch.zeros(len(x), device=x.device)
    for j in range(encoded.shape[1]):
        row, = torch.autograd.grad(encoded[:, j].sum(), x, create_graph=create_graph,
                                   retain_graph=True)
        total = total + row.pow(2).sum(1)
    return total


class VariationalAutoEncoder(AutoEncoder):
    """Each code is a mean and a spread: training decodes a random draw from N(mean, spread^2),
    and a KL term pulls the codes towards N(0, 1), so that new codes can be drawn from it. The
    encoder gives the means, so encoder(x) is the code as in the AutoEncoder; a second code layer
    beside the encoder's gives the spreads: log-variances, or with spread "std" (the AE/VAE
    notes') the standard deviations themselves, through the code's activation if it has one. Two
    layers of n outputs are one layer of 2n outputs split in two, as the notes write it."""
    def __init__(self, autoencoder=None, spread=SPREAD):
        nn.Module.__init__(self)    # the layers are autoencoder's: it made them already
        autoencoder = autoencoder or AutoEncoder()
        self.encoder, self.decoder, self.spread = autoencoder.encoder, autoencoder.decoder, spread
        self.code_layer = max(i for i, m in enumerate(self.encoder) if isinstance(m, nn.Linear))
        code = self.encoder[self.code_layer]
        self.log_var = nn.Linear(code.in_features, code.out_features)   # or the std's layer
        self.kl = 0.0   # of the last forward pass, for the loss

    def forward(self, x):
        features = self.encoder[:self.code_layer](x)    # all but the code layer and after
        mean = self.encoder[self.code_layer:](features)
        spread = self.log_var(features)
        if self.spread == "std":    # 1e-8, as the notes: a std of 0 must not give log(0)
            spread = self.encoder[self.code_layer + 1:](spread)     # the code's activation, if any
            std, var, log_var = spread, spread ** 2, (1e-8 + spread ** 2).log()
        else:
            std, var, log_var = (0.5 * spread).exp(), spread.exp(), spread
        # KL divergence from N(mean, var) to N(0, 1), summed over the code, mean over the batch
        self.kl = (-0.5 * (1 + log_var - mean ** 2 - var).sum(1)).mean()
        encoded = mean
        if self.training:       # the reparameterisation trick: a random draw, yet differentiable
            encoded = mean + std * torch.randn_like(mean)
        return encoded, self.decoder(encoded)


class AdversarialAutoEncoder(AutoEncoder):
    """--adversarial (Makhzani et al., 2015): the autoencoder's own layers, and a discriminator
    that tells codes from draws of the prior N(0, I). Each training batch runs the paper's
    regularisation phase as it comes in (the discriminator's step, then the encoder's step to
    fool it, each with its own Adam), then the lesson's reconstruction step as for any model."""
    def __init__(self, autoencoder, code_size=CODE_SIZE):
        nn.Module.__init__(self)    # the layers are autoencoder's: it made them already
        self.encoder, self.decoder = autoencoder.encoder, autoencoder.decoder
        self.discriminator = nn.Sequential(*layers([code_size, *ADVERSARY_HIDDEN, 1], "relu"))
        self.optimizers = {part: torch.optim.Adam(getattr(self, part).parameters(), ADVERSARY_LR,
                                                  betas=ADVERSARY_BETAS)
                           for part in ("discriminator", "encoder")}

    def forward(self, x):
        if self.training:
            self.discriminator_step(x)
            self.generator_step(x)
        return super().forward(x)

    def discriminator_step(self, x):
        """The discriminator learns to say 1 for draws of the prior, 0 for the codes of x."""
        with torch.no_grad():
            encoded = self.encoder(x)
        prior = torch.randn_like(encoded)
        logits = self.discriminator(torch.cat([prior, encoded]))
        truth = torch.cat([torch.ones(len(prior), 1), torch.zeros(len(encoded), 1)]).to(logits)
        self.step("discriminator", nn.functional.binary_cross_entropy_with_logits(logits, truth))

    def generator_step(self, x):
        """The encoder learns to make codes that the discriminator takes for draws of the prior."""
        logits = self.discriminator(self.encoder(x))
        self.step("encoder", nn.functional.binary_cross_entropy_with_logits(
            logits, torch.ones_like(logits)))

    def step(self, part, loss):
        optimizer = self.optimizers[part]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.zero_grad(set_to_none=True)    # no gradient left for the reconstruction step

    def get_extra_state(self):      # the two Adams' states go into state_dict, so into checkpoints
        return {part: optimizer.state_dict() for part, optimizer in self.optimizers.items()}

    def set_extra_state(self, state):
        for part, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state[part])


def own_parameters(autoencoder):
    """The autoencoder's parameters, each once, without an adversary's discriminator."""
    return [p for name, p in autoencoder.named_parameters() if not name.startswith("discriminator.")]


def init_he(autoencoder):
    """He's initial weights as Hands-On ML draws them (TensorFlow's variance_scaling_initializer):
    a normal of std sqrt(2.6 / inputs) cut at 2 std, which leaves a std of sqrt(2 / inputs);
    biases 0."""
    for module in autoencoder.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):  # inputs: a convolution's window
            std = math.sqrt(2.6 / module.weight[0].numel())
            nn.init.trunc_normal_(module.weight, 0, std, -2 * std, 2 * std)
            nn.init.zeros_(module.bias)


def tie_weights(autoencoder):
    """Make each decoder Linear use its mirror image in the encoder, transposed, the last first."""
    mirrors = iter([m for m in autoencoder.encoder if isinstance(m, nn.Linear)][::-1])
    for i, module in enumerate(autoencoder.decoder):
        if isinstance(module, nn.Linear):
            autoencoder.decoder[i] = TiedLinear(next(mirrors))


class TiedLinear(nn.Module):
    """A decoder layer that uses an encoder layer's weight matrix, transposed, with its own bias."""
    def __init__(self, encoder_layer):
        super().__init__()
        self.encoder_layer = encoder_layer  # shared, not copied: Adam sees each weight once
        self.bias = nn.Parameter(torch.zeros(encoder_layer.in_features))

    def forward(self, x):
        return nn.functional.linear(x, self.encoder_layer.weight.T, self.bias)


def corrupt(b_y, noise, dropout):
    """The training input made from the batch b_y: b_y itself, or for a denoising autoencoder a
    copy with Gaussian noise added and a fraction of pixels dropped; the target stays b_y."""
    b_x = b_y
    if noise:
        b_x = (b_x + noise * torch.randn_like(b_x)).clamp_(0, 1)
    if dropout:
        b_x = nn.functional.dropout(b_x, dropout)   # hides pixels, scales the others by 1/(1-p)
    return b_x


# ---- Beyond the tutorial: outputs that survive, checkpoints, --resume and Ctrl-C ----------------

# --resume continues the run as it was: these flags come from the checkpoint, and given again
# with another value they are refused, since they would make it another model or another loss
VARIANT_FLAGS = ("recipe", "conv", "channels", "hidden", "code_size", "activation",
                 "code_activation", "output", "init", "noise", "dropout", "variational", "spread",
                 "kl_weight", "tied", "l2", "sparsity", "contractive", "adversarial", "loss",
                 "schedule", "train_digits")
# these come from the checkpoint too, but given again they are honoured, and printed
TRAINING_FLAGS = ("lr", "batch_size", "weight_decay", "seed")
OLDER_CONFIG = {"hidden": [128, 64, 12], "code_size": 3, "activation": "tanh", "noise": 0.0,
                "dropout": 0.0, "variational": False, "kl_weight": 0.001, "tied": False,
                "loss": "mse", "schedule": "constant", "schedule_start": 0, "weight_decay": 0.0,
                "recipe": None, "code_activation": "none", "output": "sigmoid", "init": "pytorch",
                "l2": 0.0, "spread": "log-variance", "train_digits": list(range(10)), "conv": False,
                "channels": list(CHANNELS), "sparsity": 0.0, "contractive": 0.0, "adversarial": False}


def out_path(args, name):
    """Where a file of this run goes: name inside --out-dir."""
    return os.path.join(args.out_dir, name)


def new_history():
    return {"train_losses": [], "epoch_seconds": [], "test_loss": []}


def continue_run(args, given):
    """--resume: the checkpoint's flags in args, but for those given (the names of flags_given),
    which must fit; a finished scheduled run asked for more epochs starts a new schedule."""
    checkpoint = load_checkpoint(args.resume)
    config, done = checkpoint["config"], checkpoint["epoch"]
    path, planned = args.resume, config["epochs"]
    differ = [name for name in VARIANT_FLAGS if name in given and getattr(args, name) != config[name]]
    if differ:
        sys.exit(f"error: {path} was trained with {flags(differ, config)} but this run has "
                 f"{flags(differ, vars(args))}: use the same flags, or leave them out to keep the "
                 "checkpoint's, or start afresh without --resume")
    for name in VARIANT_FLAGS + TRAINING_FLAGS + ("epochs", "schedule_start"):
        if name not in given:
            setattr(args, name, config.get(name, getattr(args, name)))
    if not {"out_dir", "name"} & given:     # the run goes on in its own folder
        args.out_dir = os.path.dirname(path) or "."
    if done >= args.epochs:
        sys.exit(f"error: {path} has already trained {done} epochs: ask for more with --epochs "
                 f"{done + EPOCH}, for example")
    if args.schedule != "constant" and done < planned != args.epochs:
        sys.exit(f"error: {path} stopped in epoch {done} of its {args.schedule} schedule over "
                 f"{planned} epochs: resume it without --epochs (or with --epochs {planned}), "
                 "then ask for more")
    if args.schedule != "constant" and done == planned:
        args.schedule_start = done  # finished: a new schedule over the extra epochs only


def flags(names, values):
    """The flags of names with their values, as typed: '--code-size 2, --hidden 64'."""
    return ", ".join(f"--{name.replace('_', '-')} {show_value(values[name])}" for name in names)


def resume(path, args, autoencoder, optimizer):
    """Load the checkpoint into the model and optimizer (continue_run has taken its flags into
    args); say what goes on as before and what not; return its history."""
    checkpoint = load_checkpoint(path)
    history, done, config = checkpoint["history"], checkpoint["epoch"], checkpoint["config"]
    try:
        autoencoder.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (RuntimeError, ValueError, KeyError):    # saved by an older autoencoder.py
        sys.exit(f"error: {path} holds a model of another layout (an older autoencoder.py?): "
                 "start afresh without --resume")
    # the lr and weight decay of this run's flags; Adam's betas, which onecycle moves, reset
    for group in optimizer.param_groups:
        group.update(lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.999))
    # an epoch stopped by Ctrl-C is trained again from its start: forget its logged losses
    history["train_losses"] = [entry for entry in history["train_losses"] if entry["epoch"] < done]
    defaults = vars(parse_args([]))
    kept = [name for name in VARIANT_FLAGS + TRAINING_FLAGS    # those a learner may not expect
            if config[name] == getattr(args, name) != defaults[name]]
    print(f"Resuming from {path}: {done} of {args.epochs} epochs done"
          + (f", with its {flags(kept, config)}" if kept else ""))
    for name in TRAINING_FLAGS:
        if config[name] != getattr(args, name):
            print(f"  {flags([name], vars(args))} instead of the checkpoint's {show_value(config[name])}")
    if args.schedule_start != config["schedule_start"]:
        print(f"  its {args.schedule} schedule ended with epoch {done}: a new one runs over epochs "
              f"{done} to {args.epochs - 1}, from the start (peak --lr {args.lr})")
    return history


def load_checkpoint(path):
    """A checkpoint, its flags with those of older files filled in, or one line that says why
    the file is none."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("config"), dict):
            raise TypeError("not a dict of a model, its flags and its history")  # a bare tensor, say
        config, _, _ = checkpoint["config"], checkpoint["history"], checkpoint["epoch"]
    except FileNotFoundError:
        sys.exit(f"error: --resume {path}: no such file: give the autoencoder.pt of an earlier run")
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as err:
        sys.exit(f"error: --resume {path} is not a checkpoint of autoencoder.py ({type(err).__name__}): "
                 "give the autoencoder.pt of an earlier run")
    checkpoint["config"] = {**OLDER_CONFIG, **config}   # an older file lacks the flags added since
    return checkpoint


class StopOnCtrlC:
    """Inside `with`, the first Ctrl-C, or SIGTERM or SIGHUP (`kill`, `docker stop`, a closed
    terminal), asks training to stop after the current step so that the model can be saved;
    a second one, or one after training, ends the run at once. Exit code: 128 + its number."""
    requested, epoch, step, signum, training = False, None, None, None, True
    SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
               if hasattr(signal, name)]    # Windows has no SIGHUP
    QUIT = "Interrupted: quit without saving the last steps."

    def __enter__(self):    # a signal ignored already, as under nohup, stays ignored
        self.previous = {signum: signal.signal(signum, self.ask) for signum in self.SIGNALS
                         if signal.getsignal(signum) is not signal.SIG_IGN}
        self.streams = sys.stdout, sys.stderr   # say() may silence them: a notebook keeps its own
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        sys.stdout, sys.stderr = self.streams

    def ask(self, signum, frame):
        if self.requested:
            say("\n" + self.QUIT)
            sys.exit(128 + signum)
        if not self.training:
            say("\nInterrupted: quit before every picture was written; the checkpoint holds the "
                "trained model.")
            sys.exit(128 + signum)
        self.requested, self.signum = True, signum
        name, again = ("Ctrl-C", "press Ctrl-C") if signum == signal.SIGINT else (
            signal.Signals(signum).name, "send it")
        say(f"\n{name}: stopping after this step to save the model ({again} again to quit "
            "without saving)")

    def where(self):
        return f"in epoch {self.epoch} at step {self.step}" if self.step is not None else "after training"


def say(message):
    """Print to stderr; if the terminal was closed (SIGHUP), go on without a word until the run
    ends (StopOnCtrlC puts the streams back)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")


@contextlib.contextmanager
def exit_if_diverged(args):
    """Training whose loss or weights stop being numbers ends in one line that says what to try."""
    try:
        yield
    except FloatingPointError as err:
        path = out_path(args, "autoencoder.pt")
        sys.exit(f"error: training diverged: {err}: try a smaller --lr than {args.lr}" + (
            f"; the last good checkpoint, {path}, is kept" if os.path.exists(path) else ""))


def end_training(args, autoencoder, optimizer, history, figure, stop):
    """From here on a signal quits at once. A run stopped by one saves its checkpoint now,
    before any picture that might fail to be written; then the live figure's last frame."""
    stop.training = False
    if stop.requested:
        save_checkpoint(out_path(args, "autoencoder.pt"), args, autoencoder, optimizer,
                        history)
    figure.update(autoencoder, f"stopped {stop.where()}" if stop.requested else
                  f"after {plural(len(history['test_loss']), 'epoch')}")
    save_atomically(out_path(args, "reconstructions.png"),
                    lambda name: figure.fig.savefig(name, dpi=120))


def after_epoch(args, autoencoder, optimizer, test_images, history, figure):
    """The test loss on images never trained on, and a checkpoint to --resume from; in Spyder,
    the live figure's picture of the epoch."""
    show_epoch_picture(figure)
    history["test_loss"].append(test(autoencoder, test_images))
    test_loss = history["test_loss"][-1]
    print(f"Epoch:  {len(history['test_loss']) - 1} | test loss:  {test_loss:.4f}, "
          f"{per_image(test_loss):.2f} per image ({len(test_images):,} unseen images)")
    save_checkpoint(out_path(args, "autoencoder.pt"), args, autoencoder, optimizer, history)
    log_to_tensorboard(args, history, figure)   # with --tensorboard


def save_checkpoint(path, args, autoencoder, optimizer, history):
    checkpoint = {"model": autoencoder.state_dict(), "optimizer": optimizer.state_dict(),
                  "epoch": len(history["test_loss"]), "config": vars(args), "history": history}
    buffer = io.BytesIO()   # in memory first: torch.save's own writer hides why a write failed
    torch.save(checkpoint, buffer)
    save_atomically(path, lambda name: pathlib.Path(name).write_bytes(buffer.getbuffer()))


def save_atomically(path, write):
    """write(name) to a temporary name beside path, then rename it: never half a file at path.

    A write that fails (a full disk, a file-size limit, a folder that went away) ends the run
    in one line that names the file; the files written before it stay as they are.
    """
    try:
        replace_atomically(path, write)
    except OSError as err:
        checkpoint = os.path.join(os.path.dirname(path), "autoencoder.pt")
        kept = f"; the last checkpoint, {checkpoint}, is kept" if os.path.exists(checkpoint) else ""
        full = err.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))
        fix = "make room on the disk or choose" if full else "check that folder, or choose"
        sys.exit(f"error: could not write {path} ({err.strerror or err}): {fix} another folder "
                 f"with --out-dir{kept}")


def replace_atomically(path, write):
    """write(name) to a temporary name beside path, then rename it; OSError if either fails."""
    root, extension = os.path.splitext(path)
    # a name of its own, so that two runs never share one; path's extension: savefig and Pillow go by it
    temporary = f"{root}.part-{os.getpid()}-{os.urandom(4).hex()}{extension}"
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_results(args, autoencoder, optimizer, history, figure, latent, data, stop, clock):
    """After training: the scatter's picture, the evaluation, metrics.json and the animations.
    After a stop signal only what is quick; then the run ends."""
    def out(name):
        return out_path(args, name)
    done = len(history["test_loss"])
    scatter = latent_name(args.code_size)
    save_atomically(out(f"{scatter}.png"), lambda name: latent.savefig(name, dpi=120))
    metrics = {"config": vars(args), "parameters": sum(p.numel() for p in own_parameters(autoencoder)),
               "device": data[0].device.type, "torch": torch.__version__, **history}
    pictures = [] if stop.requested else evaluate_all(args, autoencoder, data, metrics, clock)
    save_losses_and_metrics(args, history, metrics, math.ceil(len(data[0]) / args.batch_size))
    if not stop.requested:
        finish_tensorboard(args, autoencoder, metrics, data[2], data[3])
    files = f"autoencoder.pt, reconstructions.png, {scatter}.png, loss.png and metrics.json"
    if stop.requested:
        plt.close("all")
        record_run(args, metrics, clock, stopped=True)     # below: OUT_DIR/runs.csv, compare.png
        go_on = (f"go on with --resume {out('autoencoder.pt')} (epoch {stop.epoch} starts again)"
                 if done < args.epochs else f"all {done} epochs are in {out('autoencoder.pt')}")
        say(f"Stopped {stop.where()}: wrote {files} to {args.out_dir}; {go_on}")
        sys.exit(128 + stop.signum)     # 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP
    clock.lap("pictures")
    animations = []
    if args.gif:
        animations = save_animations(args, figure, latent, scatter)
        clock.lap("animations")
    print(f"Wrote {', '.join(animations + pictures)}, {files} to {args.out_dir}")
    record_run(args, metrics, clock, stopped=False)
    print(f"Time: {clock}")
    if figure.show in ("notebook", "pictures"):     # the live figure is in the output already
        show_in_notebook(latent)


def save_losses_and_metrics(args, history, metrics, steps):
    losses = plot_losses(history, steps, metrics.get("pca_test_loss"), args.code_size, objective(args))
    save_atomically(out_path(args, "loss.png"), lambda name: losses.savefig(name, dpi=120))
    plt.close(losses)       # a file only: the windows stay the tutorial's two
    save_atomically(out_path(args, "metrics.json"),
                    lambda name: pathlib.Path(name).write_text(json.dumps(metrics, indent=1)))


# ---- Beyond the tutorial: runs side by side, the table of runs, compare.png and TensorBoard ---

RUNS_TABLE = "runs.csv"         # in OUT_DIR: a row for every run there that finished or stopped
COMPARE_PICTURE = "compare.png"  # in OUT_DIR: every run's test loss per epoch, redrawn after each
N_EMBEDDING = 2000              # --tensorboard: test digits in the embedding projector
BOARDS = {}     # --tensorboard: folder -> its SummaryWriter


def record_run(args, metrics, clock, stopped):
    """The run lets its folder go; then, for a folder in OUT_DIR, its row in OUT_DIR/runs.csv and
    compare.png redrawn from every run's metrics.json, under a lock, so that runs that end
    together all land. A table that cannot be updated costs one line, not the finished run."""
    let_folder_go(args.out_dir)
    root, seconds = os.path.dirname(os.path.abspath(args.out_dir)), sum(clock.seconds.values())
    if root != os.path.abspath(OUT_DIR):
        return
    test_loss = metrics["test_loss"][-1] if metrics["test_loss"] else None
    row = {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
           "folder": os.path.basename(args.out_dir.rstrip("/\\")), "flags": args.changed,
           "epochs": len(metrics["test_loss"]), "ended": "stopped" if stopped else "finished",
           "test MSE": test_loss, "per image": test_loss and per_image(test_loss),
           "PCA": metrics.get("pca_test_loss"), "5-NN": metrics.get("knn_accuracy"),
           "PCA's 5-NN": metrics.get("pca_knn_accuracy"), "seconds": seconds}
    row = {key: f"{value:.4g}" if isinstance(value, float) else value for key, value in row.items()}
    table, picture = os.path.join(OUT_DIR, RUNS_TABLE), os.path.join(OUT_DIR, COMPARE_PICTURE)
    try:
        with open(os.path.join(root, ".runs-lock"), "a+") as lock:
            lock_file(lock, wait=True)
            rows = add_row(table, row)
            fig = plot_runs(root)
            replace_atomically(picture, lambda name: fig.savefig(name, dpi=120))
    except (OSError, csv.Error, UnicodeError, ValueError) as err:   # open in a spreadsheet, say
        say(f"note: could not update {table} and {picture} ({getattr(err, 'strerror', None) or err}); "
            f"this run's files are all in {args.out_dir}")
        return
    print(f"Runs: this one is row {rows} of {table}; {picture} shows them all")


def add_row(table, row):
    """Append row to the CSV file table, atomically, keeping the columns of older rows; returns
    the number of rows."""
    rows, header = [], list(row)
    if os.path.exists(table):
        with open(table, newline="", encoding="utf-8-sig") as f:    # -sig: as a spreadsheet saves it
            reader = csv.DictReader(f)
            rows, old = list(reader), list(reader.fieldnames or [])
            header = old + [key for key in row if key not in old]
    def write(name):
        with open(name, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, header, restval="")
            writer.writeheader()
            writer.writerows(rows + [row])
    replace_atomically(table, write)
    return len(rows) + 1


def plot_runs(root):
    """Every run's test loss per epoch, from the metrics.json of each folder in root, on a log
    scale as in loss.png; the legend gives each one's last test MSE and 5-NN accuracy. Runs on
    other training data than most (--train-digits, --data-dir) are dashed and marked."""
    runs = []
    for path in sorted(pathlib.Path(root).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime):
        try:
            m = json.loads(path.read_text())
            knn = f", 5-NN {m['knn_accuracy']:.1%}" if m.get("knn_accuracy") is not None else ""
            label = f"{path.parent.name}: {m['test_loss'][-1]:.4f}{knn}"
            runs.append((label, m["test_loss"], training_data(m["config"])))
        except (OSError, ValueError, KeyError, TypeError, IndexError):  # being written, or not ours
            continue
    counts = collections.Counter(data for _, _, data in runs)
    usual = max(reversed([data for _, _, data in runs]), key=counts.get, default=None)  # ties: newest
    fig = matplotlib.figure.Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.set_prop_cycle(color=cm.tab20(np.linspace(0, 1, 20)) if len(runs) > 10 else cm.tab10.colors)
    for label, losses, data in runs:
        ax.plot(range(1, len(losses) + 1), losses, "-" if data == usual else "--", marker="o",
                ms=3, label=label + ("" if data == usual else " (other training data: not comparable)"))
    ax.set(yscale="log", xlabel="epoch", ylabel="test loss (MSE per pixel)",
           title=f"Every run in {os.path.basename(root)}/: the test loss after each epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):   # 0.045, not 4.5e-2
        axis(matplotlib.ticker.FormatStrFormatter("%.3f"))
    ax.grid(alpha=0.3, which="both")
    if runs:
        ax.legend(title="folder: the last test loss, the 5-NN accuracy of its codes", fontsize=8,
                  title_fontsize=8)
    return fig


def training_data(config):
    """What a run trained on: its MNIST files, wherever --data-dir reached them from (./mnist/
    and a link to the same files are one data set), and its digits."""
    files = os.path.realpath(os.path.join(config["data_dir"], "MNIST"))
    return files, tuple(config.get("train_digits", range(10)))


def log_to_tensorboard(args, history, figure):
    """After an epoch: its train losses and test loss as scalars, the live figure's frames (one
    for each logged loss), at the step of the run (batches since its start). The writer comes
    after the first epoch of this process: a new run removes the curves of the last run with the
    same flags; a resumed one goes on after its checkpoint's (only finished epochs are logged,
    each after its checkpoint is saved)."""
    if not args.tensorboard:
        return
    if args.out_dir not in BOARDS:
        from torch.utils.tensorboard import SummaryWriter
        if not args.resume:
            for old in pathlib.Path(args.out_dir).glob("events.out.tfevents.*"):
                old.unlink()
        BOARDS[args.out_dir] = SummaryWriter(args.out_dir)
        # the losses logged before this process: the checkpoint's, logged by the run it saved
        BOARDS[args.out_dir].logged = len(history["train_losses"]) - len(figure.frames)
    writer = BOARDS[args.out_dir]
    steps, entries = history["steps_per_epoch"], history["train_losses"]
    for entry, frame in zip(entries[writer.logged:], figure.frames[writer.logged - len(entries):]):
        at = entry["epoch"] * steps + entry["step"]
        writer.add_scalar("loss/train", entry["loss"], at)
        writer.add_image("live figure", np.asarray(paint(figure, frame).convert("RGB")), at,
                         dataformats="HWC")
    writer.logged = len(entries)
    writer.add_scalar("loss/test", history["test_loss"][-1], len(history["test_loss"]) * steps)
    writer.flush()


def finish_tensorboard(args, autoencoder, metrics, test_images, test_labels):
    """The run's flags and final measures for the HParams view; the codes of N_EMBEDDING test
    digits for the projector, each with its picture and its label."""
    writer = BOARDS.get(args.out_dir) if args.tensorboard else None
    if writer is None:
        return
    hparams = {name: value if isinstance(value, (int, float, str, bool)) else str(show_value(value))
               for name, value in vars(args).items() if name in VARIANT_FLAGS + TRAINING_FLAGS + ("epochs",)}
    final = {f"hparam/{name}": metrics[name] for name in ("final_test_loss", "knn_accuracy",
                                                          "pca_test_loss") if name in metrics}
    writer.add_hparams(hparams, final, run_name=".")
    x = test_images[:N_EMBEDDING]
    old = pathlib.Path(args.out_dir, "00000", "codes")      # the last run's codes, or the checkpoint's
    for path in [*old.glob("*"), old]:
        with contextlib.suppress(OSError):
            path.rmdir() if path.is_dir() else path.unlink()
    writer.add_embedding(codes(autoencoder, x).cpu(), metadata=test_labels[:N_EMBEDDING].tolist(),
                         label_img=x.cpu().view(-1, 1, 28, 28), tag="codes")
    BOARDS.pop(args.out_dir).close()


# ---- Beyond the tutorial: where the figures go, and the window ---------------------------------

def how_to_show(no_show):
    """Where the figures go, decided from what matplotlib's backend can do, not from its name:
    "window" for one that animates windows (Tk, Qt, ...); "notebook" in a Jupyter kernel whose
    backend draws no window (inline, ipympl): one picture in the cell, updated in place;
    "pictures" in Spyder's console, which adds each picture to its Plots pane instead of
    replacing it: one per epoch; None for files only, never blocking. A backend that shows only
    still pictures (PyCharm's tool window) gives way to a window, or files and one line why."""
    backend = plt.get_backend()
    try:
        module = backend_registry.load_backend_module(backend)
        framework = getattr(module.FigureCanvas, "required_interactive_framework", None)
    except ImportError:     # it cannot even load (tkinter missing, say): files only
        module, framework, no_show = None, None, True
    if in_notebook() and not framework:     # its backend stays as it is, for the later cells
        return None if no_show else "pictures" if in_spyder() else "notebook"
    if no_show or (framework and not has_screen()):
        plt.switch_backend("agg")
        return None
    if framework:
        return "window"
    if getattr(module, "FigureManager", FigureManagerBase).show is FigureManagerBase.show:
        return None     # it cannot show a figure at all (agg, pdf, svg): files only, as asked
    return window_instead(backend)


def has_screen():
    """False on Linux without a display server; elsewhere a screen is taken to be there."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# ---- Beyond the tutorial: the live figure in a notebook ----------------------------------------

def in_notebook():
    """True inside a Jupyter kernel, whose IPython shell has a kernel."""
    ipython = sys.modules.get("IPython")    # imported by every kernel, never imported here
    return ipython is not None and hasattr(ipython.get_ipython(), "kernel")


def show_in_notebook(picture, output=None):
    """Show a PIL image or a figure in the notebook cell's output, or replace the one shown in
    output; returns the output, to update it again."""
    from IPython.display import Image, display     # there in every notebook, needed nowhere else
    png = io.BytesIO()
    if isinstance(picture, PIL.Image.Image):
        picture.save(png, format="png", compress_level=1)   # quick: a frame every 100 steps
    else:
        picture.savefig(png, format="png", dpi=100)
    if output is None:
        return display(Image(png.getvalue()), display_id=True)
    output.update(Image(png.getvalue()))
    return output


def paint(figure, frame):
    """One update of the live figure (title, reconstructions, codes) drawn off screen, as a PIL
    image: for a notebook, and for the animation."""
    if figure.painter is None:
        figure.painter = FramePainter(figure)
    return figure.painter.paint(*frame)


class FramePainter:
    """Draws the live figure's updates off screen, for the GIF and a notebook. The figure is
    drawn once; each frame then redraws only what changes, the reconstructions, codes and title."""
    def __init__(self, figure, dpi=80):
        self.twin = LiveFigure(figure.view_data, show=None, code_size=figure.code_size)
        self.twin.fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(self.twin.fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.twin.fig.bbox)   # without a title

    def paint(self, title, decoded_data, encoded_data):
        self.canvas.restore_region(self.background)
        self.twin.draw(title, decoded_data, encoded_data)
        for image in [*self.twin.recon, *self.twin.codes]:
            self.twin.fig.draw_artist(image)
            for spine in image.axes.spines.values():    # drawn over the image's edge
                self.twin.fig.draw_artist(spine)
        self.twin.fig.draw_artist(self.twin.title)
        return PIL.Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3].copy())


# ---- Beyond the tutorial: IDEs, PyCharm's plot pane and Spyder's console ------------------------

GUI_BACKENDS = ("QtAgg", "TkAgg", "MacOSX", "GTK4Agg", "GTK3Agg", "WXAgg")    # windows to try


def window_instead(backend):
    """For a backend that shows still pictures only: a window toolkit that works here, if any
    (saying so in one line), else files only and a line that says how to get the animation."""
    where = ("PyCharm's plot pane (backend_interagg)" if "interagg" in backend else
             f"matplotlib's backend {backend}")
    for gui in GUI_BACKENDS if has_screen() else ():
        try:
            plt.switch_backend(gui)
        except ImportError:     # not installed, or another toolkit's loop is running
            continue
        say(f"note: {where} shows still pictures only: the live figure opens in a {gui} window")
        return "window"
    plt.switch_backend("agg")
    if not has_screen():
        say(f"note: {where} shows still pictures only, and without a screen no window can open: "
            "the live figure goes to the files only")
    else:
        say(f"note: {where} shows still pictures only, and no window toolkit loads here: the live "
            "figure goes to the files only; install tkinter or PyQt6 and the script opens a window"
            + (", or untick Settings > Tools > Python Scientific > Show plots in tool window"
               if "interagg" in backend else ""))
    return None


def in_spyder():
    """True in Spyder's console, whose frontend ignores updates of a shown picture."""
    kernel = sys.modules["IPython"].get_ipython().kernel
    return type(kernel).__module__.startswith("spyder_kernels")


def show_epoch_picture(figure):
    """In Spyder's console, a new picture after each epoch: one per update would flood its
    Plots pane, which adds every picture shown instead of replacing it."""
    if figure.show == "pictures" and figure.frames:
        show_in_notebook(paint(figure, figure.frames[-1]))


# ---- Beyond the tutorial: codes of other sizes than 3 ------------------------------------------

def code_row(axes, code_size):
    """For codes longer than 3 numbers, each code drawn as a small picture under its digit:
    blue below 0, red above, white at 0. axes: the figure's third row, or nothing."""
    shape = code_picture_shape(code_size)
    for row in axes:
        row[0].set_ylabel(f"code\n{code_size} numbers", fontsize=8)
    return [ax.imshow(np.zeros(shape), cmap="RdBu_r", aspect="auto") for ax in axes.flat]


def draw_codes(images, encoded_data, code_size):
    # one colour scale for all the codes; the few numbers beyond 3 RMS saturate
    limit = max(3 * encoded_data.pow(2).mean().sqrt().item(), 1e-6)
    for im, code in zip(images, encoded_data.view(-1, *code_picture_shape(code_size)).numpy()):
        im.set_data(code)
        im.set_clim(-limit, limit)


def code_picture_shape(code_size):
    """Rows and columns to draw a code as a picture: 8x8 for 64 numbers, 4x5 for 20, 1x7 for 7."""
    rows = max(r for r in range(1, math.isqrt(code_size) + 1) if code_size % r == 0)
    return rows, code_size // rows


def plot_codes(encoded, labels):
    """The tutorial's 3-D scatter for codes of 3 numbers, a flat one for 1 or 2, and for more
    the codes seen along their own three principal axes."""
    size = encoded.shape[1]
    if size < 3:
        return plot_flat(encoded, labels)
    if size == 3:
        return plot_latent(encoded, labels)
    mean, axes = pca(encoded, 3)        # the 3 directions in which these codes spread the most
    return plot_latent(pca_codes(encoded, mean, axes), labels, axis="principal axis",
                       title=f"Codes of {len(labels)} training digits, {size} numbers each, on their"
                             "\n3 principal axes (labels only colour them)")


def plot_flat(encoded, labels):
    """Codes of 2 numbers as a 2-D scatter of digits; codes of 1 number along x, one row per digit
    (the rows only spread them out: the code alone must sort them along x)."""
    encoded, labels = encoded.cpu().numpy(), labels.cpu().numpy()
    X = encoded[:, 0]
    if encoded.shape[1] == 2:
        Y, ylabel = encoded[:, 1], "code 2"
    else:
        Y = labels + np.random.default_rng(0).uniform(-0.3, 0.3, len(labels))
        ylabel = "the digit's row (labels only spread them)"
    fig, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
    for x, y, s in zip(X, Y, labels.tolist()):
        ax.text(x, y, str(s), backgroundcolor=cm.rainbow(int(255 * s / 9)), fontsize=8,
                ha="center", va="center")
    ax.set_xlim(X.min() - 0.05 * np.ptp(X), X.max() + 0.05 * np.ptp(X))
    ax.set_ylim(Y.min() - 0.05 * np.ptp(Y), Y.max() + 0.05 * np.ptp(Y))
    ax.set_xlabel("code 1" if encoded.shape[1] == 2 else "the code: 1 number")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Codes of {len(labels)} training digits, {plural(encoded.shape[1], 'number')} "
                 "each (labels only colour them)", fontsize=10)
    return fig


def plural(n, noun):
    return f"{n} {noun}" + "s" * (n != 1)


def latent_name(code_size):
    """latent_3d for the 3-D scatter (also of longer codes), latent_2d or latent_1d."""
    return f"latent_{min(code_size, 3)}d"


# ---- Beyond the tutorial: the loss and the learning rate's schedule ----------------------------

# Hinton & Salakhutdinov (2006) trained on this: each pixel taken as the probability of ink
cross_entropy = nn.BCELoss()    # the mean over pixels of -(y log p + (1 - y) log(1 - p))


def training_loss(args, autoencoder):
    """The tutorial's loss_func, or --loss bce's cross-entropy; for a variational autoencoder,
    with its KL term added; with --sparsity or --contractive, their penalty on the codes; with
    --l2, the penalty on the weights."""
    pixel_loss = loss_func if args.loss == "mse" else cross_entropy
    variational = isinstance(autoencoder, VariationalAutoEncoder)
    penalized = isinstance(autoencoder, PenalizedAutoEncoder)
    if not variational and not penalized and not args.l2:
        return pixel_loss

    def loss(decoded, b_y):
        total = pixel_loss(decoded, b_y)
        if variational:
            total = total + args.kl_weight * autoencoder.kl
        if penalized:   # --sparsity's and --contractive's, weighted already
            total = total + autoencoder.penalty
        if args.l2:
            total = total + args.l2 * l2_penalty(autoencoder)
        return total
    return loss


def l2_penalty(autoencoder):
    """Hands-On ML's l2_regularizer: sum(w^2) / 2 over the weight matrices (and convolutions'
    kernels), each once (a tied one too), the biases never, an adversary's never."""
    return sum(p.pow(2).sum() for p in own_parameters(autoencoder) if p.dim() >= 2) / 2


def make_scheduler(args, optimizer, first_epoch, n_images):
    """The learning rates of --schedule, to step after each optimizer step, from the first step of
    first_epoch on."""
    steps = math.ceil(n_images / args.batch_size)
    start = args.schedule_start     # 0, or where a --resume of a finished schedule started anew
    return Schedule(optimizer, args.schedule, args.lr, (args.epochs - start) * steps,
                    (first_epoch - start) * steps)


class Schedule:
    """Sets the learning rate of each step from the step's place in the whole run, so that
    --resume picks the schedule up where it stopped. onecycle does what
    torch.optim.lr_scheduler.OneCycleLR does by default: the rate climbs from lr/25 to lr along a
    half cosine in the first 30 % of the steps, then falls to lr/250,000, while Adam's beta1
    moves the other way, 0.95 to 0.85 and back. cosine: CosineAnnealingLR, from lr down to 0.
    constant: lr at every step, as in the tutorial."""
    def __init__(self, optimizer, kind, lr, total, done=0):
        self.optimizer, self.kind, self.lr, self.total, self.done = optimizer, kind, lr, total, done
        self.set(done)

    def step(self):
        self.done += 1
        self.set(self.done)

    def set(self, step):
        lr, beta1 = self.rates(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            if beta1 is not None:
                group["betas"] = (beta1, group["betas"][1])

    def rates(self, step):
        """The learning rate and Adam's beta1 (None: left as it is) of a step from 0."""
        if self.kind == "constant":
            return self.lr, None
        if self.kind == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * min(step / self.total, 1))), None
        top = 0.3 * self.total - 1     # OneCycleLR's step of the peak, pct_start 0.3
        if step <= top:
            part = step / top
            return half_cosine(self.lr / 25, self.lr, part), half_cosine(0.95, 0.85, part)
        part = min((step - top) / (self.total - 1 - top), 1)
        return half_cosine(self.lr, self.lr / 25 / 1e4, part), half_cosine(0.85, 0.95, part)


def half_cosine(start, end, part):
    """From start (part 0) to end (part 1) along half a cosine."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * part))


# ---- Beyond the tutorial: progress, the log's bookkeeping and where the time goes --------------

class TrainingLog:
    """What train() keeps beside the tutorial's loop: each step's loss on the device (no wait
    per step), the speed and a history entry at each log line, checks that the loss and the
    weights stay finite numbers, and the epoch's time."""
    def __init__(self, epoch, images, batch_size, history):
        self.epoch, self.batch_size, self.history = epoch, batch_size, history
        self.n_images, self.device = len(images), images.device
        self.steps = math.ceil(len(images) / batch_size)
        history["steps_per_epoch"] = self.steps     # for --tensorboard's steps
        self.losses = torch.zeros(self.steps, device=images.device)
        self.start = self.last_line = time.perf_counter()

    def keep(self, step, loss):
        self.losses[step] = loss.detach()

    def record(self, step, value):
        """Checks the losses so far and keeps value; returns "step  100/938 |   31,768 img/s"."""
        check_finite(self.losses[:step + 1], self.epoch)
        now = time.perf_counter()
        rate = (LOG_EVERY if step else 1) * self.batch_size / max(now - self.last_line, 1e-9)
        self.last_line = now
        self.history["train_losses"].append({"epoch": self.epoch, "step": step, "loss": value})
        return f"step {step:4d}/{self.steps} | {rate:8,.0f} img/s"

    def finish(self, autoencoder, step, stop):
        """The epoch's last checks and its time; False if stop asked to end it early."""
        check_finite(self.losses[:step + 1], self.epoch)
        if not all(p.isfinite().all() for p in autoencoder.parameters()):
            raise FloatingPointError(f"a weight stopped being a finite number in epoch {self.epoch}")
        if stop is not None and stop.requested:
            stop.epoch, stop.step = self.epoch, step    # the last step trained
            return False
        synchronize(self.device)
        seconds = time.perf_counter() - self.start
        self.history["epoch_seconds"].append(seconds)
        print(f"Epoch {self.epoch} took {seconds:.1f} s ({self.n_images / seconds:,.0f} img/s)")
        return True


def check_finite(losses, epoch):
    bad = (~losses.isfinite()).nonzero()
    if len(bad):
        step = bad[0].item()
        raise FloatingPointError(f"the loss became {losses[step].item()} in epoch {epoch}, "
                                 f"step {step}")


def synchronize(device):
    """Wait for queued GPU work, so that wall times measure the work and not its queueing."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


class Clock:
    """Where a run's time goes: lap(name) adds the seconds since the last lap to name."""
    def __init__(self):
        self.seconds, self.last = {}, time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now

    def __str__(self):
        total = sum(self.seconds.values())
        return f"{total:.1f} s ({total / 60:.1f} min) since main() started: " + " | ".join(
            f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())


# ---- Beyond the tutorial: evaluation, how good are the codes? ----------------------------------

K_NEIGHBOURS = 5        # votes in the nearest-neighbour test of the codes
NEAR_ZERO = 0.01        # a code number closer to 0 than this counts as off (what --sparsity aims at)
N_JACOBIAN = 1000       # test digits whose Jacobian is measured (what --contractive aims at)
SMALL_NOISE = 0.05      # std of the noise that shows how far codes move with their input


def test(autoencoder, images, batch_size=1000):
    """The mean squared error per pixel over images, in batches, without training."""
    with evaluating(autoencoder):
        total = sum(nn.functional.mse_loss(autoencoder(x)[1], x, reduction="sum")
                    for x in images.split(batch_size))
    return total.item() / images.numel()


def evaluate_all(args, autoencoder, data, metrics, clock):
    """The codes against PCA's, and the decoder's pictures; their numbers go into metrics.
    Returns the names of the pictures written."""
    images, train_y, test_images, test_y = data
    clock.lap("pictures")
    train_codes = codes(autoencoder, images)    # (60000, code size), for both
    metrics.update(evaluate(autoencoder, train_codes, images, train_y, test_images, test_y,
                            metrics["test_loss"][-1]))
    if args.loss == "bce":  # the loss it trained on, in the unit the Keras blog reports
        metrics["test_cross_entropy"] = per_image_loss(autoencoder, test_images, "bce").mean().item()
        print(f"Test cross-entropy per pixel, the loss it trained on: {metrics['test_cross_entropy']:.4f}")
    metrics.update(code_measures(args, autoencoder, test_images, torch.Generator().manual_seed(args.seed)))
    clock.lap("evaluation")
    pictures, found = decoder_pictures(args, autoencoder, train_codes, test_images, test_y)
    metrics.update(found)
    if args.adversarial:    # the codes beside the prior they were pulled towards
        fig = plot_prior(codes(autoencoder, test_images).cpu(), test_y.cpu())
        save_atomically(out_path(args, "prior.png"), lambda path: fig.savefig(path, dpi=100))
        pictures.append("prior.png")
    if len(args.train_digits) < 10:     # below: how well its error spots the digits it never saw
        found = detect_anomalies(args, autoencoder, test_images, test_y)
        metrics.update(found)
        pictures += ["anomaly.png"] * bool(found)
    return pictures


def code_measures(args, autoencoder, test_images, generator):
    """What --sparsity, --contractive and --adversarial aim at, on the test digits: how many code
    numbers are near 0; the Jacobian's norm and how far small noise moves the codes (against the
    codes' spread: a code can shrink without sorting digits any better); how far the codes' mean
    and covariance are from the prior's 0 and I. Printed for the variant that aims at each."""
    test_codes = codes(autoencoder, test_images).cpu()
    k = test_codes.shape[1]
    found = {"code_mean_abs": test_codes.abs().mean().item(),
             "code_near_zero": (test_codes.abs() < NEAR_ZERO).float().mean().item(),
             "code_mean_distance": test_codes.mean(0).norm().item(),
             "code_covariance_distance": (torch.cov(test_codes.T).reshape(k, k) - torch.eye(k)).norm().item()}
    if k <= 64 or args.contractive:     # one backward pass per code number
        x = test_images[:N_JACOBIAN]
        found["jacobian_norm"] = jacobian_norms(autoencoder, x).mean().item()
        noisy = x + SMALL_NOISE * torch.randn(x.shape, generator=generator).to(x)
        moved = (codes(autoencoder, noisy) - codes(autoencoder, x)).norm(dim=1).mean()
        found["code_shift"] = (moved.cpu() / (test_codes - test_codes.mean(0)).norm(dim=1).mean()).item()
    if args.sparsity:
        print(f"Sparsity of the test codes: mean |number| {found['code_mean_abs']:.3f}, "
              f"{found['code_near_zero']:.1%} of the numbers within {NEAR_ZERO} of 0")
    if args.contractive:
        print(f"Contraction on the test digits: dcode/dpixels has a mean norm of "
              f"{found['jacobian_norm']:.3f}; noise of std {SMALL_NOISE} moves a code by "
              f"{found['code_shift']:.1%} of the codes' mean distance from their mean")
    if args.adversarial or args.variational:
        print(f"The test codes against the prior N(0, I): their mean is {found['code_mean_distance']:.3f} "
              f"from 0, their covariance {found['code_covariance_distance']:.3f} from I (Frobenius)")
    return found


def plot_prior(test_codes, labels, n=N_PLOT * 10):
    """The first two code numbers of n test digits over the prior's circles of 1, 2 and 3
    standard deviations (39 %, 86 % and 99 % of its draws), and each number's histogram against
    the prior's density."""
    fig = matplotlib.figure.Figure(figsize=(10, 4.6), layout="constrained")     # a file only
    scatter, histogram = fig.subplots(1, 2)
    xy = test_codes[:n, :2] if test_codes.shape[1] > 1 else torch.cat(
        [test_codes[:n], torch.zeros(min(n, len(test_codes)), 1)], 1)
    scatter.scatter(*xy.T, c=labels[:n], cmap="rainbow", s=6, vmin=0, vmax=9)
    angle = torch.linspace(0, 2 * math.pi, 200)
    for radius in (1, 2, 3):
        scatter.plot(radius * angle.cos(), radius * angle.sin(), "k--", lw=0.8)
    scatter.set(aspect="equal", xlabel="code 1", ylabel="code 2",
                title=f"{len(xy)} test codes (colour: digit) and the prior's circles")
    bins = torch.linspace(-4, 4, 61)
    for j in range(min(3, test_codes.shape[1])):
        histogram.hist(test_codes[:, j].clamp(-4, 4), bins=bins.numpy(), density=True,
                       histtype="step", label=f"code {j + 1}")
    histogram.plot(bins, (-bins ** 2 / 2).exp() / math.sqrt(2 * math.pi), "k--", label="N(0, 1)")
    histogram.set(xlabel="value", ylabel="density", title="Each number's spread against the prior's")
    histogram.legend(fontsize=8)
    return fig


def jacobian_norms(autoencoder, images, batch_size=100):
    """The Frobenius norm of each image's Jacobian dcode/dpixels, (N,), in eval mode."""
    norms = []
    with evaluating(autoencoder), torch.enable_grad():
        for x in images.split(batch_size):
            x = x.detach().requires_grad_()
            norms.append(jacobian_norm2(autoencoder.encoder(x), x).detach().sqrt().cpu())
    return torch.cat(norms)


def pca(images, n_components=3):
    """Exact PCA, the best linear autoencoder: the mean of the rows of images (N, d), such as the
    mean image (784,), and the top principal axes (d, n_components), eigenvectors of the
    covariance (no randomised shortcut)."""
    images = images.cpu()
    mean = images.mean(0)
    # float32 products summed in float64: the same axes as all-float64 here, in half the time
    centred = (x - mean for x in images.split(10_000))                 # in chunks: less memory
    covariance = sum((x.T @ x).double() for x in centred)
    _, axes = torch.linalg.eigh(covariance / (len(images) - 1))    # ascending eigenvalues
    return mean, axes.flip(1)[:, :n_components].float()


def pca_codes(images, mean, axes):
    return torch.cat([(x - mean) @ axes for x in images.cpu().split(10_000)])  # (N, n_components)


def pca_test_loss(images, mean, axes):
    """The mean squared error per pixel of images rebuilt from their PCA codes."""
    rebuilt = pca_codes(images, mean, axes) @ axes.T + mean
    return nn.functional.mse_loss(rebuilt, images.cpu()).item()


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k=K_NEIGHBOURS):
    """The fraction of test codes whose k nearest training codes vote for their own label.
    A tie goes to the smaller label, as in scikit-learn."""
    nearest = nearest_neighbours(train_codes.cpu().float(), test_codes.cpu().float(), k)
    votes = nn.functional.one_hot(train_labels.cpu()[nearest], 10).sum(1)     # (N, 10)
    return (votes.argmax(1) == test_labels.cpu()).sum().item() / len(test_labels)


def nearest_neighbours(train, queries, k, block=128):
    """The indices (N, k) of the k rows of train nearest to each query: an exact search.

    A few queries at a time, so that their distances to all rows stay in the cache; the rows
    are cut into blocks, and the k nearest rows lie in the k blocks with the smallest minimum
    distance, so the top-k search runs over k blocks instead of all rows: for codes of 3
    numbers, 8 times quicker than cdist and topk over all 60,000.
    """
    n, size = train.shape
    k = min(k, n)
    centre = train.mean(0)      # the same distances, in smaller numbers: less rounding below
    train, queries = train - centre, queries - centre
    pad = -n % block        # rows at an infinite distance fill the last block
    # |q - t|^2 = |q|^2 + |t|^2 - 2 q.t, and |q|^2 is the same for every row: leave it out
    norms = torch.cat([train.pow(2).sum(1), torch.full((pad,), math.inf)])
    train_t = torch.cat([train, train.new_zeros(pad, size)]).T.contiguous()   # (size, n + pad)
    rows = 16 if size <= 32 else 128    # short codes: the search dominates; long: the product
    found = []
    for q in queries.split(rows):
        distance = torch.addmm(norms, q, train_t, alpha=-2).view(len(q), -1, block)
        blocks = distance.amin(2).topk(min(k, distance.shape[1]), largest=False).indices
        candidates = distance.gather(1, blocks[:, :, None].expand(-1, -1, block)).flatten(1)
        best = candidates.topk(k, largest=False).indices    # (rows, k), among the candidates
        found.append(blocks.gather(1, best // block) * block + best % block)
    return torch.cat(found)


def per_image(loss_per_pixel):
    """A mean squared error per pixel as the squared error per image, the sum over 784 pixels."""
    return 28 * 28 * loss_per_pixel


def evaluate(autoencoder, train_codes, images, labels, test_images, test_labels, test_loss):
    """test_loss and the kNN accuracy of the codes, beside those of PCA with as many components as
    the code has numbers, and the mean image's test loss; printed too.

    The labels are used here only, never in training.
    """
    size = min(train_codes.shape[1], 28 * 28)   # PCA of 784 components rebuilds every image
    mean, axes = pca(images, size)
    pca_train, pca_test = pca_codes(images, mean, axes), pca_codes(test_images, mean, axes)
    results = {
        "final_test_loss": test_loss,
        "pca_test_loss": pca_test_loss(test_images, mean, axes),
        "mean_image_test_loss": pca_test_loss(test_images, mean, axes[:, :0]),   # 0 components
    }
    trained = labels.unique().tolist()
    if trained == test_labels.unique().tolist():    # otherwise no vote can name the other digits
        results["knn_accuracy"] = knn_accuracy(train_codes, labels, codes(autoencoder, test_images),
                                               test_labels)
        results["pca_knn_accuracy"] = knn_accuracy(pca_train, labels, pca_test, test_labels)
    errors = []
    for name in ("final_test", "pca_test", "mean_image_test"):
        errors.append(per_image(results[f"{name}_loss"]))
        results[f"{name}_error_per_image"] = errors[-1]
    print(f"Test MSE per pixel: autoencoder {test_loss:.4f} | PCA, {plural(size, 'component')} "
          "{pca_test_loss:.4f} | the mean image {mean_image_test_loss:.4f}".format(**results))
    print("Test squared error per image, the sum over its 784 pixels (the unit of Hinton & "
          f"Salakhutdinov, 2006): autoencoder {errors[0]:.2f} | PCA, {plural(size, 'component')} "
          f"{errors[1]:.2f} | the mean image {errors[2]:.2f}")
    if "knn_accuracy" not in results:
        print(f"{K_NEIGHBOURS}-nearest-neighbour accuracy: skipped: the training codes are of the "
              f"digits {', '.join(map(str, trained))} only, so their votes cannot name the others")
        return results
    print(f"{K_NEIGHBOURS}-nearest-neighbour accuracy of the {plural(train_codes.shape[1], 'number')} on the test "
          f"digits: autoencoder {results['knn_accuracy']:.1%} | PCA {results['pca_knn_accuracy']:.1%}")
    return results


# ---- Beyond the tutorial: what the trained decoder can do --------------------------------------

N_GRID = 15             # codes along each side of the decoder's map, code_grid.png
N_STEPS = 10            # images along each interpolation, interpolation.png
PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9))   # digits morphed into each other there
N_WORST = 10            # the test digits rebuilt worst, worst.png


def decoder_pictures(args, autoencoder, train_codes, test_images, test_labels):
    """Write generated.png, code_grid.png, interpolation.png, worst.png (and denoised.png with
    --noise); return their names, and the per-digit test losses and the worst test images for
    metrics.json."""
    start = time.perf_counter()
    train_codes = train_codes.cpu()
    generator = torch.Generator().manual_seed(args.seed)    # the same pictures for the same seed
    prior = args.variational or args.adversarial    # codes drawn from N(0, I), which they were pulled to
    figures = {"generated.png": plot_generated(autoencoder, train_codes, prior, generator),
               "code_grid.png": plot_code_grid(autoencoder, train_codes, prior),
               "interpolation.png": plot_interpolation(autoencoder, test_images, test_labels)}
    losses = per_image_loss(autoencoder, test_images)           # (10000,)
    worst = losses.topk(min(N_WORST, len(losses))).indices
    figures["worst.png"] = plot_worst(autoencoder, test_images, test_labels, losses, worst)
    found = {}
    if args.noise:  # what a denoising autoencoder is for, measured on all the test digits
        figures["denoised.png"], found = plot_denoised(autoencoder, test_images, args.noise, generator)
        print(f"Denoising the test digits, noise of std {args.noise} (MSE per pixel from the clean "
              "digits): the noisy inputs {noisy_test_loss:.4f} | the outputs {denoised_test_loss:.4f}"
              .format(**found))
    for name, fig in figures.items():   # files only: the windows stay the tutorial's two
        save_atomically(out_path(args, name), lambda path: fig.savefig(path, dpi=100))
    labels = test_labels.cpu()
    by_digit = [losses[labels == digit].mean().item() if (labels == digit).any() else None
                for digit in range(10)]     # None: no test image of that digit
    order = sorted((d for d in range(10) if by_digit[d] is not None), key=lambda d: -by_digit[d])
    print("Digits from the hardest to the easiest to rebuild (test MSE per pixel): "
          + " | ".join(f"{digit} {by_digit[digit]:.4f}" for digit in order))
    print(f"Decoder pictures: {', '.join(figures)} took {time.perf_counter() - start:.1f} s")
    return list(figures), {
        **found, "test_loss_by_digit": by_digit,
        "worst_test_images": [{"index": i, "label": labels[i].item(), "mse": losses[i].item()}
                              for i in worst.tolist()]}


def decode(autoencoder, encoded):
    """Images (N, 784) decoded from codes (N, code size), on the CPU."""
    with evaluating(autoencoder):
        return autoencoder.decoder(encoded.to(next(autoencoder.parameters()).device)).cpu()


def reconstruct(autoencoder, images):
    """The decoded images (N, 784) of images, on the CPU, in eval mode."""
    with evaluating(autoencoder):
        return autoencoder(images.to(next(autoencoder.parameters()).device))[1].cpu()


def per_image_loss(autoencoder, images, loss="mse", batch_size=1000):
    """The mean squared error per pixel of each image, (N,); or its cross-entropy per pixel."""
    pixel_loss = nn.functional.mse_loss if loss == "mse" else nn.functional.binary_cross_entropy
    with evaluating(autoencoder):
        return torch.cat([pixel_loss(autoencoder(x)[1], x, reduction="none").mean(1).cpu()
                          for x in images.split(batch_size)])


def code_gaussian(train_codes, variational):
    """Mean and covariance to draw new codes from: a VAE's prior, the standard normal, which its
    training pulled the codes towards; otherwise a Gaussian fitted to the training codes."""
    size = train_codes.shape[1]
    if variational:
        return torch.zeros(size), torch.eye(size)
    return train_codes.mean(0), torch.cov(train_codes.T).reshape(size, size)


def sample_codes(mean, covariance, n, generator):
    """n codes from N(mean, covariance); the covariance may be singular (codes in a subspace)."""
    values, vectors = torch.linalg.eigh(covariance.double())
    root = vectors * values.clamp(min=0).sqrt()         # root @ root.T == covariance
    noise = torch.randn(n, len(mean), generator=generator, dtype=torch.float64)
    return (mean.double() + noise @ root.T).float()


def grid_codes(train_codes, variational, n=N_GRID):
    """Codes on a regular grid, row by row from the top, and what they span: for 1 or 2 numbers
    the codes' range (a VAE: the prior's 5 % to 95 % quantiles); for more, a plane through the
    mean code along the codes' two principal axes, 2 standard deviations each way."""
    size = train_codes.shape[1]
    if size <= 2 and variational:
        steps = torch.distributions.Normal(0, 1).icdf(torch.linspace(0.05, 0.95, n))
        steps, span = steps.expand(size, n), "the prior's 5 % to 95 % quantiles"
    elif size <= 2:
        low, high = train_codes.min(0).values, train_codes.max(0).values
        steps = torch.stack([torch.linspace(a, b, n) for a, b in zip(low.tolist(), high.tolist())])
        span = "the training codes' range"
    if size == 1:
        return steps[0][:, None], f"1 number, over {span}"
    if size == 2:
        y, x = torch.meshgrid(steps[1].flip(0), steps[0], indexing="ij")   # code 2 upwards
        return torch.stack([x, y], -1).reshape(-1, 2), f"code 1 across, code 2 upwards, over {span}"
    mean, axes = pca(train_codes, 2)
    spread = pca_codes(train_codes, mean, axes).std(0)
    b, a = torch.meshgrid(torch.linspace(2, -2, n), torch.linspace(-2, 2, n), indexing="ij")
    plane = a.reshape(-1, 1) * spread[0] * axes[:, 0] + b.reshape(-1, 1) * spread[1] * axes[:, 1]
    return mean + plane, (f"a plane through the mean of the {size}-number codes, along their 2 "
                          "principal axes, 2 std each way")


def mosaic(images, cols, pad=2):
    """Images (N, 784) as one grey picture, cols across, with white gaps between them."""
    images = images.clamp(0, 1).view(-1, 28, 28)    # a linear decoder's pixels may leave [0, 1]
    rows = math.ceil(len(images) / cols)
    canvas = torch.ones(rows * (28 + pad) + pad, cols * (28 + pad) + pad)
    for i, image in enumerate(images):
        top, left = pad + (i // cols) * (28 + pad), pad + (i % cols) * (28 + pad)
        canvas[top:top + 28, left:left + 28] = image
    return canvas.numpy()


def plot_mosaic(images, cols, title, row_labels=(), column_labels=()):
    """One imshow of many digits: far quicker to draw than one axes per digit."""
    rows = math.ceil(len(images) / cols)
    # a Figure outside pyplot: a file only, no window flashes open while it is drawn
    fig = matplotlib.figure.Figure(figsize=(0.45 * cols + 1.4, 0.45 * rows + 0.9), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(mosaic(images, cols), cmap="gray", vmin=0, vmax=1)
    centres = [2 + 30 * i + 14 for i in range(max(rows, cols))]
    ax.set_yticks(centres[:len(row_labels)], row_labels, fontsize=8)
    ax.set_xticks(centres[:len(column_labels)], column_labels, fontsize=7)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=9)
    return fig


def plot_generated(autoencoder, train_codes, variational, generator, rows=5, cols=10):
    mean, covariance = code_gaussian(train_codes, variational)
    new_codes = sample_codes(mean, covariance, rows * cols, generator)
    source = ("the prior, a standard normal" if variational else
              "a Gaussian fitted to the training codes (their mean and covariance)")
    return plot_mosaic(decode(autoencoder, new_codes), cols,
                       f"{rows * cols} new digits, decoded from random codes drawn from\n{source}")


def plot_code_grid(autoencoder, train_codes, variational):
    grid, span = grid_codes(train_codes, variational)
    return plot_mosaic(decode(autoencoder, grid), N_GRID,
                       f"The decoder's map: digits decoded from a grid of codes,\n{span}")


def plot_interpolation(autoencoder, test_images, test_labels, pairs=PAIRS, steps=N_STEPS):
    """Per pair of test digits: the images decoded along the line between their codes, and
    beneath, the plain blend of their pixels."""
    labels = test_labels.cpu().tolist()
    ends = [(labels.index(a), labels.index(b)) for a, b in pairs   # the first test digit of each
            if a in labels and b in labels]
    t = torch.linspace(0, 1, steps)[:, None]
    rows, names = [], []
    for a, b in ends:
        x = test_images[[a, b]]
        z = codes(autoencoder, x).cpu()
        rows += [decode(autoencoder, (1 - t) * z[0] + t * z[1]), (1 - t) * x[0].cpu() + t * x[1].cpu()]
        names += [f"codes {labels[a]} to {labels[b]}", "pixels"]
    return plot_mosaic(torch.cat(rows), steps, "From one test digit to another: along the line "
                       "between their codes,\nand (beneath) fading the pixels", row_labels=names)


def plot_worst(autoencoder, test_images, test_labels, losses, worst):
    x = test_images[worst.to(test_images.device)]
    rebuilt = reconstruct(autoencoder, x)
    tags = [f"{test_labels[i].item()}\n{losses[i]:.3f}" for i in worst.tolist()]
    return plot_mosaic(torch.cat([x.cpu(), rebuilt]), len(worst),
                       f"The {len(worst)} test digits rebuilt worst (label, MSE per pixel):\n"
                       "unusual digits, as an anomaly detector finds them",
                       row_labels=["input", "output"], column_labels=tags)


def plot_denoised(autoencoder, test_images, noise, generator, n=10):
    """The first n test digits with noise, rebuilt, and clean; and for all of them the MSE per
    pixel of the noisy inputs and of the outputs, from the clean digits."""
    clean = test_images.cpu()
    noisy = (clean + noise * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    rebuilt = reconstruct(autoencoder, noisy)
    fig = plot_mosaic(torch.cat([noisy[:n], rebuilt[:n], clean[:n]]), n,
                      f"What a denoising autoencoder is for: noise of std {noise}\n"
                      "added, taken away, and the clean digits", row_labels=["noisy", "output", "clean"])
    return fig, {"noisy_test_loss": nn.functional.mse_loss(noisy, clean).item(),
                 "denoised_test_loss": nn.functional.mse_loss(rebuilt, clean).item()}


# ---- Beyond the tutorial: anomaly detection, the digits it never saw ---------------------------

N_EXTREMES = 10         # the most normal and the most anomalous test digits, anomaly.png


def detect_anomalies(args, autoencoder, test_images, test_labels):
    """After --train-digits: each test image scored by its reconstruction error, the run's loss
    per image (MSE, or the cross-entropy with --loss bce; a VAE's from its mean code, without
    the KL term), and how well the score tells the digits it never saw from the trained ones,
    the AUROC; printed, drawn into anomaly.png, and returned for metrics.json."""
    scores, labels = per_image_loss(autoencoder, test_images, args.loss), test_labels.cpu()
    normal = torch.isin(labels, torch.tensor(args.train_digits))
    unseen = [d for d in range(10) if d not in args.train_digits and (labels == d).any()]
    if not unseen or not normal.any():
        print("Anomaly detection: skipped: the test set needs digits both trained and not")
        return {}
    overall = auroc(scores, ~normal)
    by_digit = [auroc(scores[normal | (labels == d)], labels[normal | (labels == d)] == d)
                if d in unseen else None for d in range(10)]
    trained = " and ".join(", ".join(f"{d}s" for d in args.train_digits).rsplit(", ", 1))
    print(f"Anomaly detection, each test digit scored by its reconstruction error: AUROC "
          f"{overall:.3f} for the digits it never saw against its {trained}")
    print(f"AUROC of each unseen digit alone against the {trained}: "
          + " | ".join(f"{d} {by_digit[d]:.3f}" for d in unseen))
    fig = plot_anomalies(autoencoder, test_images, scores, normal, overall, trained, args.loss)
    save_atomically(out_path(args, "anomaly.png"), lambda name: fig.savefig(name, dpi=100))
    return {"anomaly_auroc": overall, "anomaly_auroc_by_digit": by_digit}


def auroc(scores, positive):
    """The area under the ROC curve of scores for telling positive (True) from the rest: the
    chance that a random positive scores above a random negative, ties counted half; exact,
    as the Mann-Whitney U from the average ranks."""
    values, inverse, counts = torch.unique(scores.double(), return_inverse=True, return_counts=True)
    ranks = (counts.cumsum(0) - (counts - 1) / 2).double()[inverse]     # ties share their mean rank
    n_pos, n_neg = positive.sum().item(), (~positive).sum().item()
    return ((ranks[positive].sum().item() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(scores, positive):
    """The false and true positive rates of each threshold, from the highest score down; tied
    scores are one threshold, so that the curve's area is the AUROC."""
    order = scores.argsort(descending=True)
    ranked, hits = scores[order], positive[order].double()
    last = torch.cat([ranked[1:] != ranked[:-1], torch.tensor([True])])    # of each run of ties
    return [torch.cat([torch.zeros(1), rates.cumsum(0)[last] / rates.sum()]).numpy()
            for rates in (1 - hits, hits)]


def plot_anomalies(autoencoder, test_images, scores, normal, overall, trained, loss, n=N_EXTREMES):
    """anomaly.png: the scores of the trained and the unseen digits, the ROC curve, and the most
    normal and most anomalous test digits with their reconstructions beneath."""
    fig = matplotlib.figure.Figure(figsize=(9, 7), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1])
    hist, roc = top.subplots(1, 2)
    bins = np.geomspace(scores.min().clamp(min=1e-6).item(), scores.max().item(), 50)
    for chosen, label in ((normal, f"the {trained} it trained on"), (~normal, "the digits it never saw")):
        hist.hist(scores[chosen].numpy(), bins, weights=np.full(chosen.sum().item(), 1 / chosen.sum().item()),
                  alpha=0.6, label=label)
    hist.set(xscale="log", xlabel=f"reconstruction error ({'MSE' if loss == 'mse' else 'cross-entropy'}"
             " per pixel)", ylabel="share of each group")
    hist.tick_params(which="minor", labelbottom=False)
    hist.legend(fontsize=8)
    roc.plot(*roc_curve(scores, ~normal), label=f"AUROC {overall:.3f}")
    roc.plot([0, 1], [0, 1], "--", color="gray", label="a coin, 0.5")
    roc.set(xlabel="trained digits flagged (false alarms)", ylabel="unseen digits flagged")
    roc.legend(fontsize=8)
    order = scores.argsort()
    picks = torch.cat([order[:n], order.flip(0)[:n]])
    x = test_images[picks.to(test_images.device)].cpu()
    rebuilt = reconstruct(autoencoder, x)
    ax = bottom.subplots()
    ax.imshow(mosaic(torch.cat([x[:n], rebuilt[:n], x[n:], rebuilt[n:]]), n), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([16 + 30 * i for i in range(4)], ["most normal", "rebuilt", "most anomalous", "rebuilt"])
    ax.set_xticks([])
    ax.set_title(f"The {n} test digits rebuilt best and worst by a network trained on {trained} only",
                 fontsize=10)
    return fig


# ---- Beyond the tutorial: animations and the loss curve ----------------------------------------

def save_animations(args, figure, latent, scatter):
    """reconstructions.gif, every update of the live figure, and latent_3d.gif, the 3-D scatter
    turning; returns their names."""
    start = time.perf_counter()
    save_replay(figure, out_path(args, "reconstructions.gif"))
    turning = scatter == "latent_3d"    # a flat scatter has no other side to turn to
    if turning:
        save_turning(latent, out_path(args, "latent_3d.gif"))
    print(f"Animations: reconstructions.gif ({len(figure.frames)} frames)"
          + " and latent_3d.gif" * turning
          + f" took {time.perf_counter() - start:.1f} s (--no-gif skips them)")
    return ["reconstructions.gif"] + ["latent_3d.gif"] * turning


def save_replay(figure, path, fps=5):
    """Every update of the live figure as a GIF, drawn after training."""
    durations = [1000 // fps] * len(figure.frames)
    durations[-1] += 2000           # hold the end for 2 s
    save_gif(path, [paint(figure, frame) for frame in figure.frames], durations)


def save_turning(fig, path, frames=36, fps=8, dpi=60):
    """The 3-D scatter turning once around its vertical axis, as a GIF.

    Its 200 digit labels were four fifths of each frame's time, drawn anew each time though
    they never change: each label is drawn once, as a small picture, and pasted where its
    code lands in each view, in the order matplotlib draws them. The title, which stays where
    it is, is drawn in the first frame only and copied into the others.
    """
    ax = fig.axes[0]
    elevation, azimuth = ax.elev, ax.azim
    texts = list(ax.texts)
    stamps = label_stamps(texts, dpi)
    points = np.array([text.get_position_3d() for text in texts])      # (200, 3)
    for text in texts:      # hidden ones would still be projected in every frame
        text.remove()
    window, original_dpi, title_shown = fig.canvas, fig.dpi, ax.title.get_visible()
    canvas = FigureCanvasAgg(fig)   # off screen, as savefig does: a window must not resize
    fig.set_dpi(dpi)
    try:
        images = []
        for i in range(frames):
            ax.view_init(elevation, azimuth + 360 * i / frames)
            canvas.draw()
            frame = np.array(canvas.buffer_rgba())[..., :3]
            if i == 0:
                title = pixel_box(ax.title.get_window_extent(), frame.shape[0])
                title_pixels = frame[title].copy()
                ax.title.set_visible(False)
            frame[title] = title_pixels
            x, y, _ = proj3d.proj_transform(*points.T, ax.M)
            anchors = ax.transData.transform(np.column_stack([x, y]))    # pixels from bottom left
            images.append(PIL.Image.fromarray(paste_stamps(frame, anchors, stamps)))
    finally:
        fig.set_dpi(original_dpi)
        fig.set_canvas(window)
        ax.title.set_visible(title_shown)
        ax.view_init(elevation, azimuth)
        for text in texts:
            ax.add_artist(text)
    save_gif(path, images, [1000 // fps] * frames)


def label_stamps(texts, dpi):
    """A stamp (text_stamp) for each text, in their order, each distinct one drawn once: ten for
    the ten digits' labels."""
    drawn = {}
    for text in texts:
        if text_key(text) not in drawn:
            drawn[text_key(text)] = text_stamp(text, dpi)
    return [drawn[text_key(text)] for text in texts]


def pixel_box(box, height):
    """The rows and columns of an image (height, width, ...) that hold a matplotlib Bbox in
    pixels from the bottom left, with a pixel to spare on each side."""
    top, bottom = max(math.floor(height - box.y1) - 1, 0), math.ceil(height - box.y0) + 1
    return slice(top, bottom), slice(max(math.floor(box.x0) - 1, 0), math.ceil(box.x1) + 1)


def text_key(text):
    return text.get_text(), text.get_fontsize(), text.get_color(), text.get_bbox_patch().get_facecolor()


def text_stamp(text, dpi):
    """A text with a coloured box (ax.text(..., backgroundcolor=...)) drawn alone at dpi: its colours
    times its opacity (h, w, 3), 1 - its opacity (h, w, 1), and where its top-left pixel lies
    from the text's anchor, (right, down)."""
    fig = matplotlib.figure.Figure(figsize=(2, 2), dpi=dpi, facecolor="none")
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text.get_text(), fontsize=text.get_fontsize(), color=text.get_color(),
             ha=text.get_ha(), va=text.get_va(), backgroundcolor=text.get_bbox_patch().get_facecolor())
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba()).astype(np.float32) / 255
    rows, cols = np.nonzero(rgba[..., 3])
    top, left = rows.min(), cols.min()
    rgba = rgba[top:rows.max() + 1, left:cols.max() + 1]
    anchor = fig.bbox.width / 2, fig.bbox.height / 2    # (0.5, 0.5): pixels from the bottom left
    opacity = rgba[..., 3:]
    return (255 * rgba[..., :3] * opacity, 1 - opacity,
            (left - round(anchor[0]), top - round(fig.bbox.height - anchor[1])))


def paste_stamps(frame, anchors, stamps):
    """frame (H, W, 3) uint8 with each stamp of text_stamp laid over it at its anchor, (x, y)
    pixels from the bottom left, in order: the later ones on top."""
    height, width = frame.shape[:2]
    margin = max(max(colour.shape[:2]) + max(map(abs, offset)) for colour, _, offset in stamps)
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[margin:-margin, margin:-margin] = frame
    for (x, y), (colour, clear, (right, down)) in zip(anchors, stamps):
        top, left = margin + round(height - y) + down, margin + round(x) + right
        if 0 <= top <= canvas.shape[0] - len(colour) and 0 <= left <= canvas.shape[1] - colour.shape[1]:
            region = canvas[top:top + colour.shape[0], left:left + colour.shape[1]]
            region *= clear
            region += colour
    return canvas[margin:-margin, margin:-margin].round().astype(np.uint8)


def save_gif(path, images, durations):
    """PIL images as a looping GIF, in one palette for all (the last image's): far quicker than
    a palette for each. Pillow maps colours to a given palette through a coarse lookup that
    would turn the white page into the palette's first near-white (252): make those white."""
    palette = images[-1].quantize(256)
    colours = np.array(palette.getpalette()).reshape(-1, 3)
    colours[(colours >= 248).all(1)] = 255
    palette.putpalette(colours.ravel().tolist())
    images = [image.quantize(palette=palette, dither=PIL.Image.Dither.NONE) for image in images]
    save_atomically(path, lambda name: images[0].save(
        name, save_all=True, append_images=images[1:], duration=durations, loop=0))


def objective(args):
    """What training minimises, in words, when it is more than the tutorial's squared error."""
    parts = ["the cross-entropy" if args.loss == "bce" else "the squared error"]
    parts += ["the KL term"] * args.variational + ["the L2 penalty"] * bool(args.l2)
    parts += ["the sparsity penalty"] * bool(args.sparsity)
    parts += ["the Jacobian penalty"] * bool(args.contractive)
    return None if parts == ["the squared error"] else " + ".join(parts)


def plot_losses(history, steps, pca_test_loss=None, code_size=CODE_SIZE, objective=None):
    """The logged train losses and the test loss of each epoch, against epochs; objective: what
    the train loss is, when it is not the squared error alone."""
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    logged = history["train_losses"]
    ax.plot([e["epoch"] + e["step"] / steps for e in logged], [e["loss"] for e in logged],
            ".-", lw=1, ms=3, label=f"train, every {LOG_EVERY} steps"
            + (f" (its loss: {objective})" if objective else ""))
    tested = history["test_loss"]
    ax.plot(range(1, len(tested) + 1), tested, "o-",
            label="test, after each epoch" + (" (its squared error)" if objective else ""))
    if pca_test_loss is not None:
        ax.axhline(pca_test_loss, color="gray", ls="--",
                   label=f"test, PCA with {plural(code_size, 'component')}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per pixel" if objective else "mean squared error per pixel")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\n" + StopOnCtrlC.QUIT, file=sys.stderr)
        sys.exit(130)
    finally:
        end_runs()
    if not in_notebook():   # the script ends here: Python's last garbage collections would scan
        gc.freeze()         # the ~400,000 objects torch and matplotlib made, nearly 1 s for nothing
