"""An autoencoder squeezes each MNIST digit into 3 numbers and rebuilds it from them.

The "404 autoencoder" lesson of Morvan Zhou's PyTorch tutorial, runnable on today's PyTorch,
torchvision and matplotlib. The encoder (784-128-64-12-3) and its mirror image, the decoder,
learn without labels to reconstruct 28x28 digits from a 3-number code. While it trains, a
figure shows 5 digits above their reconstructions; at the end a 3-D scatter of the codes,
coloured by digit, shows that the codes sort the digits although no label was ever used.

    python autoencoder.py                   # the tutorial: 10 epochs, a live window if there is a screen
    python autoencoder.py --code-size 2     # the network's shape is a constant below, and a flag
    python autoencoder.py --help            # every flag, with its default from the constants below
"""
import argparse
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

# Hyper Parameters: the defaults of the command-line flags, so editing them changes the run
EPOCH = 10
BATCH_SIZE = 64
LR = 0.005              # learning rate
DOWNLOAD_MNIST = True   # fetch MNIST into DATA_DIR when it is not there yet
N_TEST_IMG = 5          # digits shown in the live figure
SEED = 1                # reproducible
DATA_DIR = "./mnist/"
OUT_DIR = "./results/"

# The network's shape: the encoder narrows 784 pixels through HIDDEN to CODE_SIZE numbers,
# and the decoder mirrors it back to 784 pixels
HIDDEN = (128, 64, 12)  # sizes of the encoder's hidden layers, from the pixels inwards
CODE_SIZE = 3           # numbers in each code: 3 can be drawn in 3-D
ACTIVATION = "tanh"     # tanh, relu, elu, sigmoid, or linear (no non-linearity at all)
WEIGHT_DECAY = 0.0      # L2 penalty on the weights, through Adam's weight_decay

# Variants beyond the tutorial, all off by default (the README compares them)
NOISE = 0.0             # denoising: std of the Gaussian noise added to the training inputs
DROPOUT = 0.0           # fraction of input pixels dropped at random in training
VARIATIONAL = False     # a variational autoencoder: each code is a mean and a spread
KL_WEIGHT = 0.001       # weight of the VAE's KL term against the per-pixel squared error
VAE_LR = 0.001          # the learning rate with VARIATIONAL: at LR its noisy codes often collapse
TIED = False            # the decoder uses the encoder's weight matrices, transposed

LOG_EVERY = 100         # steps between loss lines and figure updates, as in the tutorial
N_PLOT = 200            # codes drawn in the 3-D scatter
GIF = True              # write the two animations (--no-gif: a quicker end)
MAX_TEST_IMG = 20       # more columns than this no longer fit a window
K_NEIGHBOURS = 5        # votes in the nearest-neighbour test of the codes
N_GRID = 15             # codes along each side of the decoder's map, code_grid.png
N_STEPS = 10            # images along each interpolation, interpolation.png
PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9))   # digits morphed into each other there
N_WORST = 10            # the test digits rebuilt worst, worst.png
GUI_BACKENDS = ("QtAgg", "TkAgg", "MacOSX", "GTK4Agg", "GTK3Agg", "WXAgg")    # windows to try
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid, "linear": None}
# --resume keeps these
VARIANT_FLAGS = ("hidden", "code_size", "activation", "noise", "dropout", "variational", "kl_weight",
                 "tied")
IDX_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


# ---- Mnist digits dataset ------------------------------------------------------------------

def load_mnist(root, train=True, download=DOWNLOAD_MNIST):
    """MNIST as torchvision reads it: uint8 images (N, 28, 28) and int64 labels (N,)."""
    raw = os.path.join(root, "MNIST", "raw")
    unpacked = unpack_gz_files(raw, download)
    for split in (True, False):     # torchvision wants all four files, whichever split it reads
        check_idx_files(raw, split, download, unpacked)
    socket.setdefaulttimeout(10)    # a connection that stalls fails in seconds, not never
    put_files = f"put the four IDX files (train-images-idx3-ubyte, ...) into {raw}/ and run again"
    try:
        mnist = torchvision.datasets.MNIST(root, train=train, download=download)
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
    return mnist.data, mnist.targets


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
    """Exit with one line naming the file if an IDX file that is there is truncated or corrupt.

    An IDX file is a big-endian header, 0x00000803 and the sizes N, 28, 28 for images or
    0x00000801 and N for labels, followed by N*28*28 or N bytes.
    """
    fix = "delete {0} and run again to download {0}" if download else "replace {0} with the original"
    counts = []
    for name, shape in zip(IDX_FILES[train], [(28, 28), ()]):
        path = os.path.join(raw, name)
        if not os.path.exists(path):
            return      # torchvision downloads missing files, or says that they are missing
        with open(path, "rb") as f:
            header = f.read(4 * (2 + len(shape)))
        fields = struct.unpack(f">{len(header) // 4}I", header[:len(header) // 4 * 4])
        expected = len(header) + fields[1] * math.prod(shape) if len(fields) > 1 else None
        problem = None
        if fields[:1] != (0x0801 + len(shape),) or fields[2:] != shape or len(fields) < 2:
            problem = "is not an MNIST IDX file (its header is wrong)"
        elif os.path.getsize(path) != expected:
            problem = (f"has {os.path.getsize(path):,} bytes where its header promises {expected:,}: "
                       "it is truncated or corrupt")
        if problem and path in unpacked:   # name the .gz, and unpack it again next time
            os.remove(path)
            sys.exit(f"error: {path}.gz unpacks to a damaged file: {name} {problem}: "
                     + fix.format("the .gz"))
        if problem:
            sys.exit(f"error: {path} {problem}: " + fix.format("it"))
        counts.append(fields[1])
    if counts[0] != counts[1]:
        sys.exit(f"error: {raw}/ holds {counts[0]:,} images but {counts[1]:,} labels: "
                 + fix.format("both"))


def to_float_images(images, device):
    """uint8 (N, 28, 28) -> float (N, 784) in [0, 1] on device, converted once for all epochs."""
    return images.reshape(len(images), -1).to(device).float().div_(255)


def batches(images, batch_size):
    """Slices of images in a fresh random order: the DataLoader's shuffle, without a per-image copy."""
    order = torch.randperm(len(images), device=images.device)
    for start in range(0, len(images), batch_size):
        yield images[order[start:start + batch_size]]   # (batch, 784)


# ---- The model ------------------------------------------------------------------------------

class AutoEncoder(nn.Module):
    def __init__(self, hidden=HIDDEN, code_size=CODE_SIZE, activation=ACTIVATION,
                 dropout=0.0, variational=False, tied=False):
        super().__init__()
        self.dropout, self.variational = dropout, variational
        self.kl = 0.0   # the KL term of the last forward pass, used by the variational loss
        sizes = [28 * 28, *hidden, code_size]       # 784, 128, 64, 12, 3 in the tutorial
        # a variational code is a mean and a log-variance per number: twice as many outputs
        self.encoder = nn.Sequential(*layers(sizes[:-1] + [code_size * (2 if variational else 1)],
                                             activation))
        self.decoder = nn.Sequential(*layers(sizes[::-1], activation))
        if activation != "linear":
            self.decoder.append(nn.Sigmoid())       # pixels back into (0, 1)
        if tied:    # each decoder Linear uses its mirror image in the encoder, the last one first
            mirrors = iter([m for m in self.encoder if isinstance(m, nn.Linear)][::-1])
            for i, module in enumerate(self.decoder):
                if isinstance(module, nn.Linear):
                    self.decoder[i] = TiedLinear(next(mirrors))

    def forward(self, x):
        if self.dropout and self.training:
            x = nn.functional.dropout(x, self.dropout)  # hide some pixels; the target keeps them
        encoded = self.encoder(x)           # (batch, code size), twice as wide if variational
        if self.variational:
            mean, log_var = encoded.chunk(2, dim=1)
            # KL divergence from N(mean, var) to N(0, 1), summed over the code, mean over the batch
            self.kl = (-0.5 * (1 + log_var - mean ** 2 - log_var.exp()).sum(1)).mean()
            encoded = mean
            if self.training:               # the reparameterisation trick: sample, yet differentiable
                encoded = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
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


class TiedLinear(nn.Module):
    """A decoder layer that uses an encoder layer's weight matrix, transposed, with its own bias."""
    def __init__(self, encoder_layer):
        super().__init__()
        self.encoder_layer = encoder_layer  # shared, not copied: Adam sees each weight once
        self.bias = nn.Parameter(torch.zeros(encoder_layer.in_features))

    def forward(self, x):
        weight = self.encoder_layer.weight[:x.shape[1]]     # if variational: the rows of the means
        return nn.functional.linear(x, weight.T, self.bias)


# ---- The live figure: originals on top, their reconstructions below ------------------------

class LiveFigure:
    """show: "window", "notebook" (a picture in the cell's output, updated in place), "pictures"
    (a new picture after each epoch: Spyder's console), or None."""
    def __init__(self, view_data, show, code_size=CODE_SIZE):
        n = len(view_data)
        self.view_data, self.show, self.code_size = view_data, show, code_size
        rows = 3 if code_size > 3 else 2    # a code too long for the 3-D scatter gets a row too
        # without a window: a Figure outside pyplot, drawn only into files and pictures
        self.fig = (plt.figure if show == "window" else matplotlib.figure.Figure)(
            figsize=(max(5, n), 1.2 * rows))
        axes = self.fig.subplots(rows, n, squeeze=False)
        blank = np.zeros((28, 28))
        for ax, img in zip(axes[0], view_data.cpu().view(-1, 28, 28).numpy()):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        # fixed grey scale, so a blurry early reconstruction looks blurry instead of stretched
        self.recon = [ax.imshow(blank, cmap="gray", vmin=0, vmax=1) for ax in axes[1]]
        self.code_shape = code_picture_shape(code_size)
        self.codes = [ax.imshow(np.zeros(self.code_shape), cmap="RdBu_r", aspect="auto")
                      for ax in axes[2:].flat]  # blue below 0, red above, white at 0
        for ax in axes.flat:
            ax.set_xticks(())
            ax.set_yticks(())
        axes[0, 0].set_ylabel("input")
        axes[1, 0].set_ylabel("output")
        if rows == 3:
            axes[2, 0].set_ylabel(f"code\n{code_size} numbers", fontsize=8)
        self.frames = []        # (title, reconstructions, codes) of every update, for the animation
        self.pictures = self.output = None      # drawn off screen when first needed
        if show == "window":
            plt.show(block=False)

    def update(self, autoencoder, title):
        training = autoencoder.training
        autoencoder.eval()          # no dropout, and the variational code's mean
        with torch.no_grad():
            encoded_data, decoded_data = autoencoder(self.view_data)
        autoencoder.train(training)
        self.frames.append((title, decoded_data.cpu(), encoded_data.cpu()))
        self.draw(*self.frames[-1])
        if self.show == "window":   # otherwise nothing is drawn until the figure is saved
            self.fig.canvas.draw_idle()
            self.fig.canvas.start_event_loop(0.001)
        elif self.show == "notebook":
            self.output = show_in_notebook(self.picture(self.frames[-1]), self.output)

    def end_epoch(self):
        """In Spyder's console, a new picture after each epoch: one per update would flood its
        Plots pane, which adds every picture shown instead of replacing it."""
        if self.show == "pictures" and self.frames:
            show_in_notebook(self.picture(self.frames[-1]))

    def draw(self, title, decoded_data, encoded_data):
        for im, img in zip(self.recon, decoded_data.view(-1, 28, 28).numpy()):
            im.set_data(img)    # in place: far cheaper than clearing the axes and calling imshow
        # one colour scale for all the codes; the few numbers beyond 3 RMS saturate
        limit = max(3 * encoded_data.pow(2).mean().sqrt().item(), 1e-6)
        for im, code in zip(self.codes, encoded_data.view(-1, *self.code_shape).numpy()):
            im.set_data(code)
            im.set_clim(-limit, limit)
        self.title = self.fig.suptitle(title, fontsize=10)

    def picture(self, frame):
        """One update (title, reconstructions, codes) drawn off screen as a PIL image."""
        if self.pictures is None:
            self.pictures = FramePainter(self)
        return self.pictures.paint(*frame)

    def save_animation(self, path, fps=5):
        """Replay every update as a GIF, rendered after training."""
        durations = [1000 // fps] * len(self.frames)
        durations[-1] += 2000           # hold the end for 2 s
        save_gif(path, [self.picture(frame) for frame in self.frames], durations)


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


def code_picture_shape(code_size):
    """Rows and columns to draw a code as a picture: 8x8 for 64 numbers, 4x5 for 20, 1x7 for 7."""
    rows = max(r for r in range(1, math.isqrt(code_size) + 1) if code_size % r == 0)
    return rows, code_size // rows


# ---- Training -------------------------------------------------------------------------------

def synchronize(device):
    """Wait for queued GPU work, so that wall times measure the work and not its queueing."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def make_optimizer(autoencoder, lr, weight_decay=WEIGHT_DECAY):
    # fused: one kernel updates all parameters at once, a third faster per step than the default
    return torch.optim.Adam(autoencoder.parameters(), lr=lr, weight_decay=weight_decay, fused=True)


def train(args, autoencoder, optimizer, images, epoch, history, figure=None, stop=None):
    """One epoch of Adam on the mean squared error between each image and its reconstruction.

    Appends the logged losses ({"epoch", "step", "loss"}) and the epoch's seconds to history.
    Returns False if stop.requested ended the epoch early. Raises FloatingPointError if the loss
    or a weight stops being a finite number.
    """
    autoencoder.train()
    loss_func = nn.MSELoss()
    steps = math.ceil(len(images) / args.batch_size)
    losses = torch.zeros(steps, device=images.device)   # kept on the device: no wait per step
    start = last_log = time.perf_counter()
    for step, b_y in enumerate(batches(images, args.batch_size)):   # the target: (batch, 784)
        b_x = b_y
        if args.noise:      # a denoising autoencoder rebuilds the clean image from a noisy one
            b_x = (b_y + args.noise * torch.randn_like(b_y)).clamp_(0, 1)
        encoded, decoded = autoencoder(b_x)
        loss = loss_func(decoded, b_y) + args.kl_weight * autoencoder.kl   # kl is 0 but for VAEs
        optimizer.zero_grad(set_to_none=True)   # dropping the old gradients is cheaper than zeroing
        loss.backward()
        optimizer.step()
        losses[step] = loss.detach()

        if step % LOG_EVERY == 0:
            check_finite(losses[:step + 1], epoch)
            value = loss.item()     # the only wait for the device between log lines
            now = time.perf_counter()
            rate = (LOG_EVERY if step else 1) * args.batch_size / max(now - last_log, 1e-9)
            last_log = now
            print(f"Epoch:  {epoch} | train loss: {value:.4f} | step {step:4d}/{steps}"
                  f" | {rate:8,.0f} img/s")
            history["train_losses"].append({"epoch": epoch, "step": step, "loss": value})
            if figure is not None:
                figure.update(autoencoder, f"epoch {epoch}, step {step}: loss {value:.4f}")
        if stop is not None and stop.requested:
            break
    check_finite(losses[:step + 1], epoch)
    if not all(p.isfinite().all() for p in autoencoder.parameters()):
        raise FloatingPointError(f"a weight stopped being a finite number in epoch {epoch}")
    if stop is not None and stop.requested:
        stop.step = step    # the last step trained
        return False
    synchronize(images.device)
    seconds = time.perf_counter() - start
    history["epoch_seconds"].append(seconds)
    print(f"Epoch {epoch} took {seconds:.1f} s ({len(images) / seconds:,.0f} img/s)")
    return True


def check_finite(losses, epoch):
    bad = (~losses.isfinite()).nonzero()
    if len(bad):
        step = bad[0].item()
        raise FloatingPointError(f"the loss became {losses[step].item()} in epoch {epoch}, "
                                 f"step {step}")


class StopOnCtrlC:
    """Inside `with`, the first Ctrl-C, or SIGTERM or SIGHUP (`kill`, `docker stop`, a closed
    terminal), asks training to stop after the current step so that the model can be saved;
    a second one, or one after training, ends the run at once. Exit code: 128 + its number."""
    requested, step, signum, training = False, None, None, True
    SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
               if hasattr(signal, name)]    # Windows has no SIGHUP

    def __enter__(self):    # a signal ignored already, as under nohup, stays ignored
        self.previous = {signum: signal.signal(signum, self.ask) for signum in self.SIGNALS
                         if signal.getsignal(signum) is not signal.SIG_IGN}
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def ask(self, signum, frame):
        if self.requested:
            say("\nInterrupted: quit without saving the last steps.")
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


def say(message):
    """Print to stderr; if the terminal was closed (SIGHUP), go on without a word."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")


def test(autoencoder, images, batch_size=1000):
    """The mean squared error per pixel over images, in batches, without training."""
    autoencoder.eval()
    with torch.no_grad():
        total = sum(nn.functional.mse_loss(autoencoder(x)[1], x, reduction="sum")
                    for x in images.split(batch_size))
    return total.item() / images.numel()


def codes(autoencoder, images, batch_size=1000):
    """The code of each image, (N, code size): for a variational autoencoder, the means.
    The encoder alone: decoding would be half the work, for nothing."""
    autoencoder.eval()
    with torch.no_grad():
        encoded = torch.cat([autoencoder.encoder(x) for x in images.split(batch_size)])
    return encoded.chunk(2, dim=1)[0] if autoencoder.variational else encoded


# ---- Visualise the codes in 3-D -------------------------------------------------------------

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
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_zlabel(f"{axis} 3")
    ax.set_title(title or f"Codes of {len(labels)} training digits (labels only colour them)",
                 fontsize=10)
    return fig


# ---- Beyond the tutorial: codes of other sizes than 3 -------------------------------------------

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


# ---- Beyond the tutorial: animations and the loss curve ----------------------------------------

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
    drawn = {}      # one stamp per distinct label: ten for ten digits
    for text in texts:
        if text_key(text) not in drawn:
            drawn[text_key(text)] = text_stamp(text, dpi)
    stamps = [drawn[text_key(text)] for text in texts]      # in the texts' order
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


def plot_losses(history, steps, pca_test_loss=None, code_size=CODE_SIZE):
    """The logged train losses and the test loss of each epoch, against epochs."""
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    logged = history["train_losses"]
    ax.plot([e["epoch"] + e["step"] / steps for e in logged], [e["loss"] for e in logged],
            ".-", lw=1, ms=3, label=f"train, every {LOG_EVERY} steps")
    tested = history["test_loss"]
    ax.plot(range(1, len(tested) + 1), tested, "o-", label="test, after each epoch")
    if pca_test_loss is not None:
        ax.axhline(pca_test_loss, color="gray", ls="--",
                   label=f"test, PCA with {plural(code_size, 'component')}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error per pixel")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


# ---- Beyond the tutorial: how good are the codes? --------------------------------------------

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


def evaluate(autoencoder, train_codes, images, labels, test_images, test_labels, test_loss):
    """test_loss and the kNN accuracy of the codes, beside those of PCA with as many components as
    the code has numbers, and the mean image's test loss; printed too.

    The labels are used here only, never in training.
    """
    size = train_codes.shape[1]
    mean, axes = pca(images, size)
    pca_train, pca_test = pca_codes(images, mean, axes), pca_codes(test_images, mean, axes)
    results = {
        "final_test_loss": test_loss,
        "pca_test_loss": pca_test_loss(test_images, mean, axes),
        "mean_image_test_loss": pca_test_loss(test_images, mean, axes[:, :0]),   # 0 components
        "knn_accuracy": knn_accuracy(train_codes, labels, codes(autoencoder, test_images),
                                     test_labels),
        "pca_knn_accuracy": knn_accuracy(pca_train, labels, pca_test, test_labels),
    }
    print(f"Test MSE per pixel: autoencoder {test_loss:.4f} | PCA, {plural(size, 'component')} "
          "{pca_test_loss:.4f} | the mean image {mean_image_test_loss:.4f}".format(**results))
    print(f"{K_NEIGHBOURS}-nearest-neighbour accuracy of the {plural(size, 'number')} on the test "
          f"digits: autoencoder {results['knn_accuracy']:.1%} | PCA {results['pca_knn_accuracy']:.1%}")
    return results


# ---- Beyond the tutorial: what the trained decoder can do ---------------------------------------

def decoder_pictures(args, autoencoder, train_codes, test_images, test_labels, out):
    """Write generated.png, code_grid.png, interpolation.png, worst.png (and denoised.png with
    --noise); return their names, and the per-digit test losses and the worst test images for
    metrics.json."""
    start = time.perf_counter()
    train_codes = train_codes.cpu()
    generator = torch.Generator().manual_seed(args.seed)    # the same pictures for the same seed
    figures = {"generated.png": plot_generated(autoencoder, train_codes, args.variational, generator),
               "code_grid.png": plot_code_grid(autoencoder, train_codes, args.variational),
               "interpolation.png": plot_interpolation(autoencoder, test_images, test_labels)}
    losses = per_image_loss(autoencoder, test_images)           # (10000,)
    worst = losses.topk(min(N_WORST, len(losses))).indices
    figures["worst.png"] = plot_worst(autoencoder, test_images, test_labels, losses, worst)
    if args.noise:
        figures["denoised.png"] = plot_denoised(autoencoder, test_images, args.noise, generator)
    for name, fig in figures.items():   # files only: the windows stay the tutorial's two
        save_atomically(out(name), lambda path: fig.savefig(path, dpi=100))
    labels = test_labels.cpu()
    by_digit = [losses[labels == digit].mean().item() if (labels == digit).any() else None
                for digit in range(10)]     # None: no test image of that digit
    order = sorted((d for d in range(10) if by_digit[d] is not None), key=lambda d: -by_digit[d])
    print("Digits from the hardest to the easiest to rebuild (test MSE per pixel): "
          + " | ".join(f"{digit} {by_digit[digit]:.4f}" for digit in order))
    print(f"Decoder pictures: {', '.join(figures)} took {time.perf_counter() - start:.1f} s")
    return list(figures), {
        "test_loss_by_digit": by_digit,
        "worst_test_images": [{"index": i, "label": labels[i].item(), "mse": losses[i].item()}
                              for i in worst.tolist()]}


def decode(autoencoder, encoded):
    """Images (N, 784) decoded from codes (N, code size), on the CPU."""
    autoencoder.eval()
    with torch.no_grad():
        return autoencoder.decoder(encoded.to(next(autoencoder.parameters()).device)).cpu()


def reconstruct(autoencoder, images):
    """The decoded images (N, 784) of images, on the CPU, in eval mode."""
    autoencoder.eval()
    with torch.no_grad():
        return autoencoder(images.to(next(autoencoder.parameters()).device))[1].cpu()


def per_image_loss(autoencoder, images, batch_size=1000):
    """The mean squared error per pixel of each image, (N,)."""
    autoencoder.eval()
    with torch.no_grad():
        return torch.cat([(autoencoder(x)[1] - x).pow(2).mean(1).cpu()
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
    source = ("the VAE's prior, a standard normal" if variational else
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
    clean = test_images[:n].cpu()
    noisy = (clean + noise * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    return plot_mosaic(torch.cat([noisy, reconstruct(autoencoder, noisy), clean]), n,
                       f"What a denoising autoencoder is for: noise of std {noise}\n"
                       "added, taken away, and the clean digits", row_labels=["noisy", "output", "clean"])


# ---- Beyond the tutorial: files that survive a crash, checkpoints -------------------------------

def save_atomically(path, write):
    """write(name) to a temporary name beside path, then rename it: never half a file at path.

    A write that fails (a full disk, a file-size limit, a folder that went away) ends the run
    in one line that names the file; the files written before it stay as they are.
    """
    root, extension = os.path.splitext(path)
    temporary = f"{root}.part{extension}"   # same extension: savefig and Pillow go by it
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as err:
        checkpoint = os.path.join(os.path.dirname(path), "autoencoder.pt")
        kept = f"; the last checkpoint, {checkpoint}, is kept" if os.path.exists(checkpoint) else ""
        full = err.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))
        fix = "make room on the disk or choose" if full else "check that folder, or choose"
        sys.exit(f"error: could not write {path} ({err.strerror or err}): {fix} another folder "
                 f"with --out-dir{kept}")
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def save_checkpoint(path, args, autoencoder, optimizer, history):
    checkpoint = {"model": autoencoder.state_dict(), "optimizer": optimizer.state_dict(),
                  "epoch": len(history["test_loss"]), "config": vars(args), "history": history}
    buffer = io.BytesIO()   # in memory first: torch.save's own writer hides why a write failed
    torch.save(checkpoint, buffer)
    save_atomically(path, lambda name: pathlib.Path(name).write_bytes(buffer.getbuffer()))


def resume(path, args, autoencoder, optimizer):
    """Load a checkpoint of the same variant into the model and optimizer; return its history."""
    try:
        checkpoint = torch.load(path, map_location=next(autoencoder.parameters()).device,
                                weights_only=True)
        config, history, done = checkpoint["config"], checkpoint["history"], checkpoint["epoch"]
        config = {"hidden": [128, 64, 12], "code_size": 3, "activation": "tanh", **config}  # older files
    except FileNotFoundError:
        sys.exit(f"error: --resume {path}: no such file: give the autoencoder.pt of an earlier run")
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as err:
        sys.exit(f"error: --resume {path} is not a checkpoint of autoencoder.py ({type(err).__name__}): "
                 "give the autoencoder.pt of an earlier run")
    differ = [name for name in VARIANT_FLAGS if config.get(name) != getattr(args, name)]
    if differ:
        def flags(values):
            return ", ".join(f"--{name.replace('_', '-')} {show_value(values[name])}" for name in differ)
        sys.exit(f"error: {path} was trained with {flags(config)} but this run has "
                 f"{flags(vars(args))}: use the same flags, or start afresh without --resume")
    if done >= args.epochs:
        sys.exit(f"error: {path} has already trained {done} epochs: ask for more with --epochs "
                 f"{done + EPOCH}, for example")
    autoencoder.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    for group in optimizer.param_groups:    # this run's --lr and --weight-decay, not the checkpoint's
        group.update(lr=args.lr, weight_decay=args.weight_decay)
    # an epoch stopped by Ctrl-C is trained again from its start: forget its logged losses
    history["train_losses"] = [entry for entry in history["train_losses"] if entry["epoch"] < done]
    print(f"Resuming from {path}: {done} epochs done")
    return history


def show_value(value):
    """A flag's value as it is typed: --hidden 128,64,12 rather than [128, 64, 12]."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "''"
    return value


# ---- Command line ---------------------------------------------------------------------------

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


def parse_args(argv=None):
    parser = Parser(description="Train the tutorial's MNIST autoencoder and plot its codes. "
                                "Defaults are the constants at the top of autoencoder.py.")
    parser.add_argument("--epochs", type=number(int), default=EPOCH, metavar="N",
                        help="passes over the training set (default: %(default)s)")
    parser.add_argument("--batch-size", type=number(int), default=BATCH_SIZE, metavar="N",
                        help="images per training step (default: %(default)s)")
    parser.add_argument("--lr", type=number(float),
                        help=f"Adam's learning rate (default: {LR}, or {VAE_LR} with --variational)")
    parser.add_argument("--n-test-img", default=N_TEST_IMG,
                        type=number(int, lambda n: 0 < n <= MAX_TEST_IMG, f"from 1 to {MAX_TEST_IMG}"),
                        metavar="N", help=f"digits in the live figure, 1 to {MAX_TEST_IMG} "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=number(int, lambda n: 0 <= n < 2 ** 32, "from 0 to 2**32-1"),
                        default=SEED, metavar="N",
                        help="random seed (default: %(default)s)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                        help="auto picks CUDA, then MPS, then the CPU (default: %(default)s)")
    parser.add_argument("--data-dir", default=DATA_DIR, metavar="DIR",
                        help="MNIST root, the folder that holds MNIST/raw/ (default: %(default)s)")
    parser.add_argument("--out-dir", default=OUT_DIR, metavar="DIR",
                        help="folder for the pictures, animations, checkpoint and metrics.json "
                        "(default: %(default)s)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        default=DOWNLOAD_MNIST, help="never download MNIST: use only the files "
                        "already in --data-dir (downloading when missing: %(default)s)")
    parser.add_argument("--no-show", action="store_true",
                        help="open no windows, only write the files")
    parser.add_argument("--no-gif", dest="gif", action="store_false", default=GIF,
                        help="skip the two animations, for a quicker end (writing them: %(default)s)")
    parser.add_argument("--resume", metavar="PATH",
                        help="continue training from the autoencoder.pt of an earlier run")
    at_least_0 = number(float, lambda x: x >= 0, "of 0 or more")
    add_network_flags(parser, at_least_0)
    variants = parser.add_argument_group("variants beyond the tutorial (all off by default)")
    variants.add_argument("--noise", type=at_least_0, default=NOISE, metavar="STD",
                          help="denoising: add Gaussian noise of this std to the training inputs "
                          "(default: %(default)s)")
    variants.add_argument("--dropout", type=number(float, lambda p: 0 <= p < 1, "from 0 to below 1"),
                          default=DROPOUT, metavar="P",
                          help="drop this fraction of input pixels in training (default: %(default)s)")
    variants.add_argument("--variational", action="store_true", default=VARIATIONAL,
                          help="a variational autoencoder (default: %(default)s)")
    variants.add_argument("--kl-weight", type=at_least_0, default=KL_WEIGHT, metavar="W",
                          help="with --variational: weight of the KL term (default: %(default)s)")
    variants.add_argument("--tied", action="store_true", default=TIED,
                          help="the decoder reuses the encoder's weights, transposed "
                          "(default: %(default)s)")
    args = parser.parse_args(argv)
    args.hidden = list(args.hidden)     # the same type from the constant and from the flag
    if args.lr is None:
        args.lr = VAE_LR if args.variational else LR
    if args.device != "auto" and args.device not in available_devices():
        parser.error(f"argument --device: {args.device} is not available on this machine: "
                     "use --device auto or --device cpu")
    return args


def add_network_flags(parser, at_least_0):
    network = parser.add_argument_group("the network's shape (the tutorial's by default)")
    network.add_argument("--hidden", type=layer_sizes, default=HIDDEN, metavar="N,N,...",
                         help="sizes of the encoder's hidden layers, from the pixels inwards; the "
                         "decoder mirrors them; '' for none (default: %s)" % show_value(HIDDEN))
    network.add_argument("--code-size", default=CODE_SIZE, metavar="N",
                         type=number(int, lambda n: 0 < n <= 28 * 28, "from 1 to 784"),
                         help="numbers in each code, 1 to 784 (default: %(default)s)")
    network.add_argument("--activation", choices=list(ACTIVATIONS), default=ACTIVATION,
                         help="between the layers; linear: none anywhere, not even the final "
                         "sigmoid (default: %(default)s)")
    network.add_argument("--weight-decay", type=at_least_0, default=WEIGHT_DECAY, metavar="W",
                         help="L2 penalty on the weights, Adam's weight_decay (default: %(default)s)")


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


def available_devices():
    """The devices this machine has, in the order --device auto prefers them."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    return [name for name, present in has.items() if present]


def pick_device(name):
    return torch.device(available_devices()[0] if name == "auto" else name)


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


def has_screen():
    """False on Linux without a display server; elsewhere a screen is taken to be there."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def in_notebook():
    """True inside a Jupyter kernel, whose IPython shell has a kernel."""
    ipython = sys.modules.get("IPython")    # imported by every kernel, never imported here
    return ipython is not None and hasattr(ipython.get_ipython(), "kernel")


def in_spyder():
    """True in Spyder's console, whose frontend ignores updates of a shown picture."""
    kernel = sys.modules["IPython"].get_ipython().kernel
    return type(kernel).__module__.startswith("spyder_kernels")


def make_out_dir(path):
    """Create the output folder; exit with one line if it cannot be made or written to."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as err:
        sys.exit(f"error: cannot write into the output folder {path} ({err.strerror}): "
                 "choose another with --out-dir")


class Clock:
    """Where a run's time goes: lap(name) adds the seconds since the last lap to name."""
    def __init__(self):
        self.seconds, self.last = {}, time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now

    def __str__(self):
        return " | ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())


def main(argv=None):
    clock = Clock()
    args = parse_args(argv)
    make_out_dir(args.out_dir)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    print(f"Device: {device}")

    train_x, train_y = load_mnist(args.data_dir, download=args.download)
    test_x, test_y = load_mnist(args.data_dir, train=False, download=args.download)
    print(f"Training images: {tuple(train_x.shape)}, labels: {tuple(train_y.shape)}")
    images = to_float_images(train_x, device)   # (60000, 784)
    test_images = to_float_images(test_x, device)   # (10000, 784), never trained on
    clock.lap("data and model")

    autoencoder = AutoEncoder(args.hidden, args.code_size, args.activation,
                              args.dropout, args.variational, args.tied).to(device)
    optimizer = make_optimizer(autoencoder, args.lr, args.weight_decay)
    shape = [28 * 28, *args.hidden, args.code_size, *args.hidden[::-1], 28 * 28]
    parameters = sum(p.numel() for p in autoencoder.parameters())
    print(f"AutoEncoder: {'-'.join(map(str, shape))}, {args.activation}, {parameters:,} parameters")
    history = {"train_losses": [], "epoch_seconds": [], "test_loss": []}
    if args.resume:
        history = resume(args.resume, args, autoencoder, optimizer)
    show = how_to_show(args.no_show)
    if show == "window":
        plt.ion()   # continuously plot
    figure = LiveFigure(images[:args.n_test_img], show, args.code_size)

    def out(name):
        return os.path.join(args.out_dir, name)
    with StopOnCtrlC() as stop:     # until the files are written: a stop signal saves first
        try:
            for epoch in range(len(history["test_loss"]), args.epochs):
                clock.lap("data and model")
                if not train(args, autoencoder, optimizer, images, epoch, history, figure, stop):
                    break
                figure.end_epoch()
                clock.lap("training")
                history["test_loss"].append(test(autoencoder, test_images))
                print(f"Epoch:  {epoch} | test loss:  {history['test_loss'][-1]:.4f} "
                      f"({len(test_images):,} unseen images)")
                save_checkpoint(out("autoencoder.pt"), args, autoencoder, optimizer, history)
                clock.lap("tests and checkpoints")
        except FloatingPointError as err:
            kept = os.path.exists(out("autoencoder.pt"))
            sys.exit(f"error: training diverged: {err}: try a smaller --lr than {args.lr}" + (
                f"; the last good checkpoint, {out('autoencoder.pt')}, is kept" if kept else ""))

        stop.training = False   # from here on a signal quits at once: the checkpoint is saved
        done = len(history["test_loss"])
        if stop.requested:      # the checkpoint first: a picture that fails must not cost it
            save_checkpoint(out("autoencoder.pt"), args, autoencoder, optimizer, history)
        # a signal during the last epoch's test or checkpoint stops no step: all epochs are done
        where = f"in epoch {epoch} at step {stop.step}" if stop.step is not None else "after training"
        figure.update(autoencoder, f"stopped {where}" if stop.requested
                      else f"after {plural(done, 'epoch')}")
        save_atomically(out("reconstructions.png"), lambda name: figure.fig.savefig(name, dpi=120))
        latent = plot_codes(codes(autoencoder, images[:N_PLOT]), train_y[:N_PLOT])
        scatter = latent_name(args.code_size)
        save_atomically(out(f"{scatter}.png"), lambda name: latent.savefig(name, dpi=120))
        metrics = {"config": vars(args), "parameters": parameters, "device": str(device),
                   "torch": torch.__version__, **history}
        if not stop.requested:  # a stopped run ends quickly: no evaluation, no animations
            clock.lap("pictures")
            train_codes = codes(autoencoder, images)    # (60000, code size), for both
            metrics.update(evaluate(autoencoder, train_codes, images, train_y, test_images, test_y,
                                    history["test_loss"][-1]))
            clock.lap("evaluation")
            pictures, found = decoder_pictures(args, autoencoder, train_codes, test_images, test_y,
                                               out)
            metrics.update(found)
        losses = plot_losses(history, math.ceil(len(images) / args.batch_size),
                             metrics.get("pca_test_loss"), args.code_size)
        save_atomically(out("loss.png"), lambda name: losses.savefig(name, dpi=120))
        plt.close(losses)       # a file only: the windows stay the tutorial's two
        save_atomically(out("metrics.json"),
                        lambda name: pathlib.Path(name).write_text(json.dumps(metrics, indent=1)))
        files = f"autoencoder.pt, reconstructions.png, {scatter}.png, loss.png and metrics.json"
        if stop.requested:
            plt.close("all")
            go_on = (f"go on with --resume {out('autoencoder.pt')} (epoch {epoch} starts again)"
                     if done < args.epochs else f"all {done} epochs are in {out('autoencoder.pt')}")
            say(f"Stopped {where}: wrote {files} to {args.out_dir}; {go_on}")
            sys.exit(128 + stop.signum)     # 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP
        files = ", ".join(pictures) + ", " + files
        clock.lap("pictures")
        if args.gif:
            start = time.perf_counter()
            figure.save_animation(out("reconstructions.gif"))
            turning = scatter == "latent_3d"    # a flat scatter has no other side to turn to
            if turning:
                save_turning(latent, out("latent_3d.gif"))
            files = "reconstructions.gif, " + "latent_3d.gif, " * turning + files
            print(f"Animations: reconstructions.gif ({len(figure.frames)} frames)"
                  + " and latent_3d.gif" * turning
                  + f" took {time.perf_counter() - start:.1f} s (--no-gif skips them)")
            clock.lap("animations")
        print(f"Wrote {files} to {args.out_dir}")
        print(f"Time: {clock}")
        if show in ("notebook", "pictures"):    # the live figure is in the output already
            show_in_notebook(latent)

    if show == "window":
        plt.ioff()
        plt.show()      # blocks until the windows are closed, as in the tutorial
    plt.close("all")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\nInterrupted: quit without saving the last steps.", file=sys.stderr)
        sys.exit(130)
    if not in_notebook():   # the script ends here: Python's last garbage collections would scan
        gc.freeze()         # the ~400,000 objects torch and matplotlib made, nearly 1 s for nothing
