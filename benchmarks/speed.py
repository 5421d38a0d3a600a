"""How fast autoencoder.py trains, next to the tutorial's own loop and the arithmetic's floor.

    python benchmarks/speed.py --data-dir ./mnist/      # about a minute on a 2-core CPU

In one process, one after the other, each after a short warm-up and from the same seed:
(a) the tutorial's loop: torchvision MNIST with ToTensor, a shuffled DataLoader of batch 64;
(b) autoencoder.train() as a run uses it, with the live figure updated every 100 steps
    (headless, as with --no-show);
(c) the floor: only the matrix products of the same steps, with nothing around them: for every
    layer, x @ W.T forward and both backward products, grad @ W and grad.T @ x (autograd skips
    grad @ W for the first layer, whose input needs no gradient: about 0.09 s of 0.68 here).
Then a whole default run (`autoencoder.py --no-show`) in a subprocess, for its wall time and
peak memory. Prints seconds per epoch, images per second, the ratios and each model's test MSE.
"""
import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch
import torchvision
from torch import nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import autoencoder as ae  # noqa: E402

WARMUP_STEPS = 50
LAYERS = [(784, 128), (128, 64), (64, 12), (12, 3), (3, 12), (12, 64), (64, 128), (128, 784)]


def tutorial_loop(root, epochs, device, steps=None):
    """The tutorial's training loop, as written there, with today's names; returns the model."""
    train_data = torchvision.datasets.MNIST(root, train=True, download=False,
                                            transform=torchvision.transforms.ToTensor())
    train_loader = torch.utils.data.DataLoader(dataset=train_data, batch_size=ae.BATCH_SIZE,
                                               shuffle=True)
    autoencoder = ae.AutoEncoder().to(device)
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=ae.LR)
    loss_func = nn.MSELoss()
    for epoch in range(epochs):
        for step, (x, b_label) in enumerate(train_loader):
            if step == steps:
                break
            b_x = x.view(-1, 28 * 28).to(device)
            encoded, decoded = autoencoder(b_x)
            loss = loss_func(decoded, b_x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 100 == 0:
                print("Epoch: ", epoch, "| train loss: %.4f" % loss.item())
    return autoencoder


def our_loop(images, epochs, device):
    """autoencoder.train() with a headless live figure, as `python autoencoder.py --no-show`."""
    args = ae.parse_args(["--epochs", str(epochs), "--no-show"])
    autoencoder = ae.AutoEncoder().to(device)
    optimizer = ae.make_optimizer(autoencoder, args.lr)
    figure = ae.LiveFigure(images[:args.n_test_img], show=False)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(epochs):
        ae.train(args, autoencoder, optimizer, images, epoch, history, figure)
    ae.plt.close(figure.fig)
    return autoencoder


def matmul_floor(epochs, n_images, device):
    """Only the products of each step: x @ W.T forward; grad @ W and grad.T @ x backward."""
    xs = [torch.rand(ae.BATCH_SIZE, n_in, device=device) for n_in, _ in LAYERS]
    ws = [torch.rand(n_out, n_in, device=device) for n_in, n_out in LAYERS]
    gs = [torch.rand(ae.BATCH_SIZE, n_out, device=device) for _, n_out in LAYERS]
    steps = -(-n_images // ae.BATCH_SIZE)
    for _ in range(epochs * steps):
        for x, w, g in zip(xs, ws, gs):
            x @ w.T
            g @ w
            g.T @ x


def timed(run, device):
    ae.synchronize(device)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):     # the loss lines, not wanted here
        result = run()
    ae.synchronize(device)
    return result, time.perf_counter() - start


def default_run(data_dir):
    """Wall seconds and peak resident memory (GB) of `autoencoder.py --no-show` with defaults."""
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(REPO, "autoencoder.py"), "--no-show",
                        "--no-download", "--data-dir", data_dir, "--out-dir", out_dir],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss     # Linux: kilobytes
    return seconds, peak_kb / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=ae.DATA_DIR, help="MNIST root (default: %(default)s)")
    parser.add_argument("--epochs", type=ae.number(int), default=1, help="(default: %(default)s)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--skip-default-run", action="store_true",
                        help="do not time a whole default run of autoencoder.py")
    args = parser.parse_args()
    device = ae.pick_device(args.device)
    train_x, _ = ae.load_mnist(args.data_dir, train=True, download=False)
    test_x, _ = ae.load_mnist(args.data_dir, train=False, download=False)
    images = ae.to_float_images(train_x, device)
    test_images = ae.to_float_images(test_x, device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.epochs} epoch(s) of {len(images):,} images, batch {ae.BATCH_SIZE}\n")

    timed(lambda: tutorial_loop(args.data_dir, 1, device, steps=WARMUP_STEPS), device)
    timed(lambda: our_loop(images[:WARMUP_STEPS * ae.BATCH_SIZE], 1, device), device)
    timed(lambda: matmul_floor(1, WARMUP_STEPS * ae.BATCH_SIZE, device), device)
    torch.manual_seed(ae.SEED)
    tutorial, a = timed(lambda: tutorial_loop(args.data_dir, args.epochs, device), device)
    torch.manual_seed(ae.SEED)
    ours, b = timed(lambda: our_loop(images, args.epochs, device), device)
    _, c = timed(lambda: matmul_floor(args.epochs, len(images), device), device)

    print(f"{'':34} {'s/epoch':>8} {'images/s':>10} {'test MSE':>9}")
    for name, seconds, model in [("(a) tutorial: DataLoader+ToTensor", a, tutorial),
                                 ("(b) autoencoder.py train()", b, ours),
                                 ("(c) floor: matrix products only", c, None)]:
        mse = f"{ae.test(model, test_images):9.4f}" if model else f"{'':9}"
        rate = args.epochs * len(images) / seconds
        print(f"{name:34} {seconds / args.epochs:8.2f} {rate:10,.0f} {mse}")
    print(f"\nspeed-up (a)/(b): {a / b:.1f}x    distance to the floor (b)/(c): {b / c:.1f}x")
    if not args.skip_default_run:
        seconds, peak_gb = default_run(args.data_dir)
        print(f"whole default run (autoencoder.py --no-show, {ae.EPOCH} epochs): {seconds:.1f} s, "
              f"peak memory {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
