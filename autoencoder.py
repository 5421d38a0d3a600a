"""An autoencoder squeezes each MNIST digit into 3 numbers and rebuilds it from them.

The "404 autoencoder" lesson of Morvan Zhou's PyTorch tutorial, runnable on today's PyTorch,
torchvision and matplotlib. The encoder (784-128-64-12-3) and its mirror image, the decoder,
learn without labels to reconstruct 28x28 digits from a 3-number code. While it trains, a
figure shows 5 digits above their reconstructions; at the end a 3-D scatter of the codes,
coloured by digit, shows that the codes sort the digits although no label was ever used.

    python autoencoder.py           # the tutorial: 10 epochs, a live window if there is a screen
    python autoencoder.py --help    # every flag, with its default from the constants below
"""
import argparse
import json
import math
import os
import sys
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision
from matplotlib import cm
from matplotlib.backends import BackendFilter, backend_registry
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

LOG_EVERY = 100         # steps between loss lines and figure updates, as in the tutorial
N_PLOT = 200            # codes drawn in the 3-D scatter
MAX_TEST_IMG = 20       # more columns than this no longer fit a window


# ---- Mnist digits dataset ------------------------------------------------------------------

def load_mnist(root, train=True, download=DOWNLOAD_MNIST):
    """MNIST as torchvision reads it: uint8 images (N, 28, 28) and int64 labels (N,)."""
    raw = os.path.join(root, "MNIST", "raw")
    try:
        mnist = torchvision.datasets.MNIST(root, train=train, download=download)
    except RuntimeError as err:
        if not download and "not found" in str(err):
            sys.exit(f"error: MNIST is not in {raw}/: run without --no-download to fetch it, "
                     "or put the four IDX files there")
        if "Error downloading" in str(err):
            sys.exit(f"error: could not download MNIST ({str(err).splitlines()[0]}): put the four "
                     f"IDX files (train-images-idx3-ubyte, ...) into {raw}/ and run again")
        raise
    return mnist.data, mnist.targets


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
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.Tanh(),
            nn.Linear(128, 64),
            nn.Tanh(),
            nn.Linear(64, 12),
            nn.Tanh(),
            nn.Linear(12, 3),       # compress to 3 features which can be visualised in 3-D
        )
        self.decoder = nn.Sequential(
            nn.Linear(3, 12),
            nn.Tanh(),
            nn.Linear(12, 64),
            nn.Tanh(),
            nn.Linear(64, 128),
            nn.Tanh(),
            nn.Linear(128, 28 * 28),
            nn.Sigmoid(),           # pixels back into (0, 1)
        )

    def forward(self, x):
        encoded = self.encoder(x)           # (batch, 3)
        decoded = self.decoder(encoded)     # (batch, 784)
        return encoded, decoded


# ---- The live figure: originals on top, their reconstructions below ------------------------

class LiveFigure:
    def __init__(self, view_data, show):
        n = len(view_data)
        self.view_data, self.show = view_data, show
        self.fig, axes = plt.subplots(2, n, figsize=(max(5, n), 2.4), squeeze=False)
        blank = np.zeros((28, 28))
        for ax, img in zip(axes[0], view_data.cpu().view(-1, 28, 28).numpy()):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        # fixed grey scale, so a blurry early reconstruction looks blurry instead of stretched
        self.recon = [ax.imshow(blank, cmap="gray", vmin=0, vmax=1) for ax in axes[1]]
        for ax in axes.flat:
            ax.set_xticks(())
            ax.set_yticks(())
        axes[0, 0].set_ylabel("input")
        axes[1, 0].set_ylabel("output")
        if show:
            plt.show(block=False)

    def update(self, autoencoder, title):
        with torch.no_grad():
            _, decoded_data = autoencoder(self.view_data)
        for im, img in zip(self.recon, decoded_data.cpu().view(-1, 28, 28).numpy()):
            im.set_data(img)    # in place: far cheaper than clearing the axes and calling imshow
        self.fig.suptitle(title, fontsize=10)
        if self.show:           # without a window nothing is drawn until the figure is saved
            self.fig.canvas.draw_idle()
            self.fig.canvas.start_event_loop(0.001)


# ---- Training -------------------------------------------------------------------------------

def synchronize(device):
    """Wait for queued GPU work, so that wall times measure the work and not its queueing."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def make_optimizer(autoencoder, lr):
    # fused: one kernel updates all parameters at once, a third faster per step than the default
    return torch.optim.Adam(autoencoder.parameters(), lr=lr, fused=True)


def train(args, autoencoder, optimizer, images, epoch, history, figure=None):
    """One epoch of Adam on the mean squared error between each image and its reconstruction.

    Appends the logged losses ({"epoch", "step", "loss"}) and the epoch's seconds to history.
    """
    autoencoder.train()
    loss_func = nn.MSELoss()
    steps = math.ceil(len(images) / args.batch_size)
    start = last_log = time.perf_counter()
    for step, b_x in enumerate(batches(images, args.batch_size)):
        encoded, decoded = autoencoder(b_x)
        loss = loss_func(decoded, b_x)          # the target is the input itself
        optimizer.zero_grad(set_to_none=True)   # dropping the old gradients is cheaper than zeroing
        loss.backward()
        optimizer.step()

        if step % LOG_EVERY == 0:
            value = loss.item()     # the only wait for the device between log lines
            now = time.perf_counter()
            rate = (LOG_EVERY if step else 1) * args.batch_size / max(now - last_log, 1e-9)
            last_log = now
            print(f"Epoch:  {epoch} | train loss: {value:.4f} | step {step:4d}/{steps}"
                  f" | {rate:8,.0f} img/s")
            history["train_losses"].append({"epoch": epoch, "step": step, "loss": value})
            if figure is not None:
                figure.update(autoencoder, f"epoch {epoch}, step {step}: loss {value:.4f}")
    synchronize(images.device)
    seconds = time.perf_counter() - start
    history["epoch_seconds"].append(seconds)
    print(f"Epoch {epoch} took {seconds:.1f} s ({len(images) / seconds:,.0f} img/s)")


def test(autoencoder, images, batch_size=1000):
    """The mean squared error per pixel over images, in batches, without training."""
    autoencoder.eval()
    with torch.no_grad():
        total = sum(nn.functional.mse_loss(autoencoder(x)[1], x, reduction="sum")
                    for x in images.split(batch_size))
    return total.item() / images.numel()


# ---- Visualise the codes in 3-D -------------------------------------------------------------

def plot_latent(encoded, labels):
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
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.set_zlabel("code 3")
    ax.set_title(f"Codes of {len(labels)} training digits (labels only colour them)", fontsize=10)
    return fig


# ---- Command line ---------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):   # one line that names the flag; --help has the full usage
        self.exit(2, f"{self.prog}: error: {message}\n")


def number(kind, low=0, high=math.inf):
    """An argparse type: a finite `kind` in (low, high], with an error that says so."""
    noun = "whole number" if kind is int else "finite number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None
        if not (math.isfinite(value) and low < value <= high):
            allowed = f"above {low}" if high == math.inf else f"from {low + 1} to {high}"
            raise argparse.ArgumentTypeError(f"{text} is not allowed: use a {noun} {allowed}")
        return value
    return parse


def parse_args(argv=None):
    parser = Parser(description="Train the tutorial's MNIST autoencoder and plot its 3-D codes. "
                                "Defaults are the constants at the top of autoencoder.py.")
    parser.add_argument("--epochs", type=number(int), default=EPOCH, metavar="N",
                        help="passes over the training set (default: %(default)s)")
    parser.add_argument("--batch-size", type=number(int), default=BATCH_SIZE, metavar="N",
                        help="images per training step (default: %(default)s)")
    parser.add_argument("--lr", type=number(float), default=LR,
                        help="Adam's learning rate (default: %(default)s)")
    parser.add_argument("--n-test-img", type=number(int, high=MAX_TEST_IMG), default=N_TEST_IMG,
                        metavar="N", help=f"digits in the live figure, 1 to {MAX_TEST_IMG} "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, metavar="N",
                        help="random seed (default: %(default)s)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                        help="auto picks CUDA, then MPS, then the CPU (default: %(default)s)")
    parser.add_argument("--data-dir", default=DATA_DIR, metavar="DIR",
                        help="MNIST root, the folder that holds MNIST/raw/ (default: %(default)s)")
    parser.add_argument("--out-dir", default=OUT_DIR, metavar="DIR",
                        help="folder for the pictures and metrics.json (default: %(default)s)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        default=DOWNLOAD_MNIST, help="never download MNIST: use only the files "
                        "already in --data-dir (downloading when missing: %(default)s)")
    parser.add_argument("--no-show", action="store_true",
                        help="open no windows, only write the files")
    args = parser.parse_args(argv)
    if args.device != "auto" and args.device not in available_devices():
        parser.error(f"argument --device: {args.device} is not available on this machine: "
                     "use --device auto or --device cpu")
    return args


def available_devices():
    """The devices this machine has, in the order --device auto prefers them."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    return [name for name, present in has.items() if present]


def pick_device(name):
    return torch.device(available_devices()[0] if name == "auto" else name)


def use_window(no_show):
    """True when figures can open in a window; otherwise draw into files only, never blocking."""
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if no_show or headless:
        plt.switch_backend("agg")
        return False
    return plt.get_backend().lower() not in backend_registry.list_builtin(
        BackendFilter.NON_INTERACTIVE)


def main(argv=None):
    args = parse_args(argv)
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as err:
        sys.exit(f"error: cannot create the output folder {args.out_dir} ({err.strerror}): "
                 "choose another with --out-dir")
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    print(f"Device: {device}")

    train_x, train_y = load_mnist(args.data_dir, download=args.download)
    print(f"Training images: {tuple(train_x.shape)}, labels: {tuple(train_y.shape)}")
    images = to_float_images(train_x, device)   # (60000, 784)

    autoencoder = AutoEncoder().to(device)
    show = use_window(args.no_show)
    if show:
        plt.ion()   # continuously plot
    figure = LiveFigure(images[:args.n_test_img], show)
    optimizer = make_optimizer(autoencoder, args.lr)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(args.epochs):
        train(args, autoencoder, optimizer, images, epoch, history, figure)

    figure.update(autoencoder, f"after {args.epochs} epoch" + "s" * (args.epochs != 1))
    figure.fig.savefig(os.path.join(args.out_dir, "reconstructions.png"), dpi=120)
    with torch.no_grad():
        encoded_data, _ = autoencoder(images[:N_PLOT])
    latent = plot_latent(encoded_data, train_y[:N_PLOT])
    latent.savefig(os.path.join(args.out_dir, "latent_3d.png"), dpi=120)
    metrics = {"config": vars(args), "device": str(device), "torch": torch.__version__, **history}
    with open(os.path.join(args.out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(f"Wrote reconstructions.png, latent_3d.png and metrics.json to {args.out_dir}")

    if show:
        plt.ioff()
        plt.show()      # blocks until the windows are closed, as in the tutorial
    plt.close("all")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was saved for this run.", file=sys.stderr)
        sys.exit(130)
