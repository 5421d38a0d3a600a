"""An autoencoder squeezes each MNIST digit into 3 numbers and rebuilds it from them.

The "404 autoencoder" lesson of Morvan Zhou's PyTorch tutorial, on today's PyTorch and matplotlib,
in the tutorial's order and with its names. Everything beyond the tutorial (the command line,
other kinds of autoencoder, checkpoints, evaluation, pictures) lives in the package lab/ beside
this file; each call into it names its module, and lab/__init__.py maps them.

    python autoencoder.py                   # the tutorial: 10 epochs, a live window if there is a screen
    python autoencoder.py --code-size 2     # the network's shape is a constant below, and a flag
    python autoencoder.py --help            # every flag, with its default from the constants below
"""
import gc
import sys

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision
from matplotlib import cm
from torch import nn

from lab import (anomaly, checkpoints, cli, code_sizes, data, display, errors, explorer, frames,
                 kinds, network, optimizers, results, resume, runs, signals, training)
from lab.kinds import denoising

# ---- Hyper Parameters: the defaults of the command-line flags, so editing them changes the run

EPOCH = 10
BATCH_SIZE = 64
LR = 0.005              # learning rate
DOWNLOAD_MNIST = True   # fetch MNIST into DATA_DIR when it is not there yet
N_TEST_IMG = 5          # digits shown in the live figure
SEED = 1                # reproducible
DATA_DIR = "./mnist/"
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
# The defaults of the flags beyond the lesson sit beside what they change: NOISE in
# lab/kinds/denoising.py, VARIATIONAL in lab/kinds/vae.py, OUT_DIR in lab/runs.py, ...


def parse_args(argv=None):
    """The hyperparameters above, or the flags that override them (lab/cli.py)."""
    return cli.parse_args(argv, hyperparameters())


def hyperparameters():
    """The constants above by name, read when the flags are parsed: an edit counts."""
    return {name: value for name, value in globals().items() if name.isupper()}


# ---- Mnist digits dataset ----------------------------------------------------------------------

def load_mnist(root, train=True, download=DOWNLOAD_MNIST):
    """MNIST as torchvision reads it: uint8 images (N, 28, 28) and int64 labels (N,)."""
    data.check_data_files(root, download)   # a damaged or gzipped file, named in one line
    with data.download_errors_in_one_line(root, download):
        mnist = torchvision.datasets.MNIST(root, train=train, download=download)
    return mnist.data, mnist.targets


def to_float_images(images, device):
    """uint8 (N, 28, 28) -> float (N, 784) in [0, 1] on device, converted once for all epochs."""
    return images.reshape(len(images), -1).to(device).float().div_(255)


def batches(images, batch_size, noise=0.0, dropout=0.0):
    """(b_x, b_y) slices in a fresh random order: the DataLoader's shuffle, without a per-image
    copy. b_y is the target; b_x the input, b_y itself but for a denoising autoencoder's."""
    order = torch.randperm(len(images), device=images.device)
    for start in range(0, len(images), batch_size):
        b_y = images[order[start:start + batch_size]]   # (batch, 784)
        yield denoising.corrupt(b_y, noise, dropout), b_y


# ---- AutoEncoder: the model --------------------------------------------------------------------

class AutoEncoder(nn.Module):
    def __init__(self, hidden=HIDDEN, code_size=CODE_SIZE, activation=ACTIVATION):
        super().__init__()
        sizes = [28 * 28, *hidden, code_size]       # 784, 128, 64, 12, 3 in the tutorial
        self.encoder = nn.Sequential(*network.layers(sizes, activation))        # compress to the code
        self.decoder = nn.Sequential(*network.layers(sizes[::-1], activation))  # and rebuild from it
        if activation != "linear":
            self.decoder.append(nn.Sigmoid())       # pixels back into (0, 1)

    def forward(self, x):
        encoded = self.encoder(x)           # (batch, code size)
        decoded = self.decoder(encoded)     # (batch, 784)
        return encoded, decoded


# ---- Optimizer, loss and training, with the live figure ----------------------------------------

def make_optimizer(autoencoder, lr=LR, weight_decay=WEIGHT_DECAY, name="adam"):
    if name != "adam":  # --optimizer adadelta or sgd, as other sources trained
        return optimizers.make(name, autoencoder.parameters(), lr, weight_decay)
    # fused: one kernel updates all parameters at once, a third faster per step than the default
    return torch.optim.Adam(autoencoder.parameters(), lr=lr, weight_decay=weight_decay, fused=True)


loss_func = nn.MSELoss()    # the mean squared error per pixel, between image and reconstruction


class LiveFigure:
    """view_data on top, their reconstructions below, redrawn every LOG_EVERY steps. show:
    "window", "notebook", "spyder" or None for files only (lab/display.py decides)."""
    def __init__(self, view_data, show, code_size=CODE_SIZE):
        self.view_data, self.show, self.code_size = view_data, show, code_size
        rows = 3 if code_size > 3 else 2    # a row for codes too long for the 3-D scatter
        # without a window: a Figure outside pyplot, drawn only into files and pictures
        self.fig = (plt.figure if show == "window" else matplotlib.figure.Figure)(
            figsize=(max(5, len(view_data)), 1.2 * rows))
        a = self.fig.subplots(rows, len(view_data), squeeze=False)
        for ax, img in zip(a[0], view_data.cpu().view(-1, 28, 28).numpy()):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)     # the original digits, first row
        # fixed grey scale, so a blurry early reconstruction looks blurry instead of stretched
        self.recon = [ax.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1) for ax in a[1]]
        self.codes = code_sizes.code_row(a[2:], code_size)     # none for codes of 3 numbers
        for ax in a.flat:
            ax.set(xticks=(), yticks=())
        a[0, 0].set_ylabel("input")
        a[1, 0].set_ylabel("output")
        self.frames = []    # (title, reconstructions, codes) of every update, for the animation
        self.painter = self.output = None   # lab/frames.py: pictures drawn off screen, when needed
        if show == "window":
            plt.ion()   # continuously plot
            plt.show(block=False)

    def update(self, autoencoder, title):
        training = autoencoder.training
        autoencoder.eval()      # a VAE's mean code, not a random draw
        with torch.no_grad():
            encoded_data, decoded_data = autoencoder(self.view_data)
        autoencoder.train(training)
        self.frames.append((title, decoded_data.cpu(), encoded_data.cpu()))
        self.draw(*self.frames[-1])
        if self.show == "window":   # otherwise nothing is drawn until a picture is made
            self.fig.canvas.draw_idle()
            self.fig.canvas.start_event_loop(0.001)     # lets the window redraw now
        elif self.show == "notebook":   # one picture in the cell, replaced each time
            self.output = display.show_in_notebook(frames.paint(self, self.frames[-1]), self.output)

    def draw(self, title, decoded_data, encoded_data):
        for im, img in zip(self.recon, decoded_data.view(-1, 28, 28).numpy()):
            im.set_data(img)    # in place: far cheaper than clearing the axes and calling imshow
        code_sizes.draw_codes(self.codes, encoded_data, self.code_size)
        self.title = self.fig.suptitle(title, fontsize=10)


def train(args, autoencoder, optimizer, images, epoch, history, figure=None, stop=None):
    """One epoch of Adam on loss_func between each image and its reconstruction. Returns False
    if a stop signal ended it early; a loss that is not a number raises FloatingPointError."""
    autoencoder.train()
    objective = training.training_loss(args, autoencoder, loss_func)   # loss_func, unless a flag adds
    scheduler = training.make_scheduler(args, optimizer, epoch, len(images))   # --schedule's rates
    log = training.TrainingLog(epoch, images, args.batch_size, history)     # the log's bookkeeping
    for step, (b_x, b_y) in enumerate(batches(images, args.batch_size, args.noise, args.dropout)):
        kinds.before_step(autoencoder, b_x)     # --adversarial's own steps; none for the tutorial's
        encoded, decoded = autoencoder(b_x)
        loss = objective(decoded, b_y)      # mean squared error, unless --loss bce or a kind adds terms
        optimizer.zero_grad(set_to_none=True)   # dropping the old gradients is cheaper than zeroing
        loss.backward()                     # backpropagation, compute gradients
        optimizer.step()                    # apply gradients
        scheduler.step()                    # the next step's learning rate: constant by default
        log.keep(step, loss)

        if step % LOG_EVERY == 0:           # every 100 steps: the loss, and the figure redrawn
            value = loss.item()             # the only wait for the device between log lines
            progress = log.record(step, value)  # stops on a loss that is not a number
            print(f"Epoch:  {epoch} | train loss: {value:.4f} | {progress}")
            if figure is not None:
                figure.update(autoencoder, f"epoch {epoch}, step {step}: loss {value:.4f}")
        if stop is not None and stop.requested:
            break
    return log.finish(autoencoder, step, stop)


# ---- Visualize the codes in 3-D ----------------------------------------------------------------

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
    clock = training.Clock()    # where the run's time goes
    with errors.in_one_line():  # a user's mistake ends the run in one line, without a traceback
        args = parse_args(argv)     # the hyperparameters above, or the flags that override them
        if args.explore:    # --explore PATH: play with a trained run's codes, no training
            return explorer.explore(args, AutoEncoder, load_mnist, hyperparameters())
        runs.make_out_dir(args.out_dir)     # a folder of its own, one live run in it
        torch.manual_seed(args.seed)
        device = cli.pick_device(args.device)
        print(f"Device: {device}")

        train_x, train_y = anomaly.keep_digits(*load_mnist(args.data_dir, download=args.download),
                                               args.train_digits)  # all ten digits by default
        test_x, test_y = load_mnist(args.data_dir, train=False, download=args.download)
        print(f"Training images: {tuple(train_x.shape)}, labels: {tuple(train_y.shape)}")
        images = to_float_images(train_x, device)       # (60000, 784)
        test_images = to_float_images(test_x, device)   # (10000, 784), never trained on

        autoencoder = kinds.build(args, AutoEncoder).to(device)     # AutoEncoder, or a kind of it
        optimizer = make_optimizer(autoencoder, args.lr, args.weight_decay, args.optimizer)
        history = (resume.resume(args, autoencoder, optimizer, hyperparameters()) if args.resume
                   else checkpoints.new_history())    # --resume: the checkpoint's, else empty
        figure = LiveFigure(images[:args.n_test_img], display.how_to_show(args.no_show), args.code_size)
        clock.lap("data and model")

        with signals.StopOnCtrlC() as stop:     # until the files are written: a stop saves first
            with training.exit_if_diverged(args):
                for epoch in range(len(history["test_loss"]), args.epochs):
                    if not train(args, autoencoder, optimizer, images, epoch, history, figure, stop):
                        break       # stopped: the files are written below, then the run ends
                    clock.lap("training")
                    results.after_epoch(args, autoencoder, optimizer, test_images, history, figure)
                    clock.lap("tests and checkpoints")
            results.end_training(args, autoencoder, optimizer, history, figure, stop)
            autoencoder.eval()
            with torch.no_grad():   # the codes of the first N_PLOT training digits, (200, code size)
                encoded_data = autoencoder.encoder(images[:N_PLOT])
            scatter = code_sizes.plot_codes(encoded_data, train_y[:N_PLOT], plot_latent)
            results.write_results(args, autoencoder, history, figure, scatter,
                                  (images, train_y, test_images, test_y), stop, clock, LOG_EVERY)
        if figure.show == "window":
            plt.ioff()
            plt.show()      # blocks until the windows are closed, as in the tutorial
        plt.close("all")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:   # a Ctrl-C before training, or a second one
        print("\n" + signals.StopOnCtrlC.QUIT, file=sys.stderr)
        sys.exit(130)
    finally:
        runs.end_runs()
    if not display.in_notebook():   # the script ends here: Python's last garbage collections would
        gc.freeze()                 # scan the ~400,000 objects torch and matplotlib made, ~1 s
