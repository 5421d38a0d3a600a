"""How fast autoencoder.py trains, next to the tutorial's own loop and the arithmetic's floor,
and where the time of a whole default run goes.

    python benchmarks/speed.py --data-dir ./mnist/      # about six minutes on a 2-core CPU

In one process, each after a short warm-up and from the same seed, in rounds (3 by default)
that interleave them, so that a machine that slows down for a while slows them all alike:
(a) the tutorial's loop: torchvision MNIST with ToTensor, a shuffled DataLoader of batch 64;
(b) autoencoder.train() as a run uses it, with the live figure updated every 100 steps
    (headless, as with --no-show);
(c) the floor: only the matrix products of the same steps, with nothing around them: for every
    layer, x @ W.T forward and both backward products, grad @ W and grad.T @ x (autograd skips
    grad @ W for the first layer, whose input needs no gradient: about 0.09 s of 0.68 here).
(d) autoencoder.train() of `--conv`, the convolutional autoencoder, as (b).
Prints the median and the range of each, and of the ratios (a)/(b), (b)/(c) and (d)/(b) within a
round; then the layouts tried for --conv's steps (conv_layouts below), and what --sparsity,
--contractive (at 3, 20 and 128 numbers), --adversarial and --variational cost per epoch
(penalty_costs below; `--only penalties` for these alone).
Then whole default runs (`autoencoder.py --no-show`) in a subprocess: wall time, peak memory,
and the split that the run prints on its last line, with Python's start, the imports and
the exit as the rest of the wall time.
"""
import argparse
import contextlib
import io
import json
import os
import pathlib
import re
import resource
import statistics
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
from lab import cli, errors, kinds, measures, training  # noqa: E402
from lab.flags import number  # noqa: E402

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


def our_loop(images, epochs, device, flags=()):
    """autoencoder.train() with a headless live figure, as `python autoencoder.py --no-show`."""
    args = ae.parse_args(["--epochs", str(epochs), "--no-show", *flags])
    autoencoder = kinds.build(args, ae.AutoEncoder).to(device)
    optimizer = ae.make_optimizer(autoencoder, args.lr)
    figure = ae.LiveFigure(images[:args.n_test_img], show=None, code_size=args.code_size)
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


def conv_layouts(images, device, rounds, steps=150):
    """Images per second of --conv's training steps (no figure) in the layouts tried: PyTorch's
    own NCHW, channels_last (kept: ConvAutoEncoder converts itself), oneDNN switched off, and
    batches of 128 and 256 (their loss is another one: not kept, a learner's --batch-size)."""
    tried = {"NCHW, oneDNN": ("nchw", True, 64), "channels_last, oneDNN (kept)": ("cl", True, 64),
             "channels_last, without oneDNN": ("cl", False, 64),
             "channels_last, batch 128": ("cl", True, 128), "channels_last, batch 256": ("cl", True, 256)}
    speeds = {name: [] for name in tried}
    for _ in range(rounds):
        for name, (layout, mkldnn, batch) in tried.items():
            torch.manual_seed(ae.SEED)
            with contextlib.redirect_stdout(io.StringIO()):
                args = ae.parse_args(["--conv", "--batch-size", str(batch)])
                model = kinds.build(args, ae.AutoEncoder).to(device)
            model.to(memory_format=torch.contiguous_format if layout == "nchw" else torch.channels_last)
            optimizer = ae.make_optimizer(model, args.lr)
            loss_func = training.training_loss(args, model, ae.loss_func)
            def steps_of():     # the lesson's train() step for step, without its schedule, log or figure
                for _, (b_x, b_y) in zip(range(steps), ae.batches(images, batch)):
                    kinds.before_step(model, b_x)   # a kind's own steps, as train() takes them
                    loss = loss_func(model(b_x)[1], b_y)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
            torch.backends.mkldnn.enabled = mkldnn
            _, elapsed = timed(steps_of, device)
            torch.backends.mkldnn.enabled = True
            speeds[name].append(steps * batch / elapsed)
    print(f"\n--conv's training steps, {steps} each, {rounds} interleaved rounds:")
    for name, values in speeds.items():
        print(f"  {name:32} median {statistics.median(values):6,.0f} img/s, range "
              f"{min(values):,.0f} to {max(values):,.0f}")


PENALTY_COSTS = [  # (the plain network, the penalised one): --contractive at 3, 20 and 128 numbers
    ("", "--sparsity 0.001"), ("", "--contractive 0.01"), ("", "--adversarial"), ("", "--variational"),
    ("--code-size 20", "--code-size 20 --contractive 0.01"),
    ("--code-size 128", "--code-size 128 --contractive 0.01")]


def penalty_costs(images, device, rounds, steps=200):
    """Seconds per epoch of the penalties' training (autoencoder.train(), as (b), on the first
    `steps` batches, scaled to an epoch) against the plain network's of the same code size, in
    interleaved rounds. --contractive takes one backward pass per code number, so its cost grows
    with the code; the others add a fixed amount per batch."""
    subset, per_epoch = images[:steps * ae.BATCH_SIZE], -(-len(images) // ae.BATCH_SIZE) / steps
    flag_sets = list(dict.fromkeys(flags for pair in PENALTY_COSTS for flags in pair))
    seconds = {flags: [] for flags in flag_sets}
    timed(lambda: our_loop(images[:WARMUP_STEPS * ae.BATCH_SIZE], 1, device, ["--adversarial"]), device)
    for round_ in range(rounds):
        for flags in flag_sets[round_ % 2:] + flag_sets[:round_ % 2]:
            torch.manual_seed(ae.SEED)
            _, elapsed = timed(lambda: our_loop(subset, 1, device, flags.split()), device)
            seconds[flags].append(elapsed * per_epoch)
    print(f"\nThe penalties' training, {steps} batches scaled to an epoch, {rounds} interleaved rounds:")
    for plain, penalised in PENALTY_COSTS:
        ratios = [x / y for x, y in zip(seconds[penalised], seconds[plain])]
        print(f"  {penalised:34} median {statistics.median(seconds[penalised]):6.2f} s/epoch "
              f"({spread(seconds[penalised])}), {statistics.median(ratios):5.2f}x "
              f"({spread(ratios, 'x')}) the plain {plain or 'tutorial'}'s "
              f"{statistics.median(seconds[plain]):.2f} s")


def timed(run, device):
    training.synchronize(device)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):     # the loss lines, not wanted here
        result = run()
    training.synchronize(device)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=ae.DATA_DIR, help="MNIST root (default: %(default)s)")
    parser.add_argument("--epochs", type=number(int), default=1, help="(default: %(default)s)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--rounds", type=number(int), default=3,
                        help="rounds of (a), (b) and (c), interleaved (default: %(default)s)")
    parser.add_argument("--only", choices=["penalties"], help="only the penalties' costs")
    parser.add_argument("--whole-runs", type=number(int, lambda n: n >= 0, "of 0 or more"),
                        default=3, help="whole default runs of autoencoder.py to time and split "
                        "(default: %(default)s)")
    args = parser.parse_args()
    device = cli.pick_device(args.device)
    with errors.in_one_line():  # MNIST missing or damaged: one line, as autoencoder.py says it
        train_x, _ = ae.load_mnist(args.data_dir, train=True, download=False)
        test_x, _ = ae.load_mnist(args.data_dir, train=False, download=False)
    images = ae.to_float_images(train_x, device)
    test_images = ae.to_float_images(test_x, device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.epochs} epoch(s) of {len(images):,} images, batch {ae.BATCH_SIZE}\n")
    if args.only == "penalties":
        return penalty_costs(images, device, args.rounds)

    timed(lambda: tutorial_loop(args.data_dir, 1, device, steps=WARMUP_STEPS), device)
    timed(lambda: our_loop(images[:WARMUP_STEPS * ae.BATCH_SIZE], 1, device), device)
    timed(lambda: matmul_floor(1, WARMUP_STEPS * ae.BATCH_SIZE, device), device)
    timed(lambda: our_loop(images[:WARMUP_STEPS * ae.BATCH_SIZE], 1, device, ["--conv"]), device)
    runs = {
        "(a) tutorial: DataLoader+ToTensor": lambda: tutorial_loop(args.data_dir, args.epochs, device),
        "(b) autoencoder.py train()": lambda: our_loop(images, args.epochs, device),
        "(c) floor: matrix products only": lambda: matmul_floor(args.epochs, len(images), device),
        "(d) autoencoder.py --conv train()": lambda: our_loop(images, args.epochs, device, ["--conv"])}
    seconds = {name: [] for name in runs}
    mse = {}
    for round_ in range(args.rounds):
        names = list(runs)[round_ % 4:] + list(runs)[:round_ % 4]     # each goes first in turn
        for name in names:
            torch.manual_seed(ae.SEED)
            model, elapsed = timed(runs[name], device)
            seconds[name].append(elapsed / args.epochs)
            if model is not None and round_ == 0:
                mse[name] = measures.test_loss(model, test_images)
        print(f"round {round_ + 1}: " + ", ".join(f"{name[:3]} {seconds[name][-1]:.2f} s"
                                                 for name in runs), flush=True)
    print(f"\n{'':34} {'s/epoch: median':>15} {'range':>13} {'images/s':>9} {'test MSE':>9}")
    for name, values in seconds.items():
        test_mse = f"{mse[name]:9.4f}" if name in mse else ""
        print(f"{name:34} {statistics.median(values):15.2f} {spread(values):>13} "
              f"{len(images) / statistics.median(values):9,.0f} {test_mse}")
    a, b, c, d = seconds.values()
    for label, ratios in [("speed-up (a)/(b)", [x / y for x, y in zip(a, b)]),
                          ("distance to the floor (b)/(c)", [x / y for x, y in zip(b, c)]),
                          ("--conv against the fully connected (d)/(b)", [x / y for x, y in zip(d, b)])]:
        print(f"{label}: median {statistics.median(ratios):.2f}x, range {spread(ratios, 'x')}")
    conv_layouts(images, device, args.rounds)
    penalty_costs(images, device, args.rounds)
    ratios = [whole_run(args.data_dir, i + 1) for i in range(args.whole_runs)]
    if len(ratios) > 1:
        print(f"\noutside the epochs / the epochs, {len(ratios)} whole runs: median "
              f"{statistics.median(ratios):.2f}x, range {spread(ratios, 'x')}")


def spread(values, unit=""):
    return f"{min(values):.2f}{unit} to {max(values):.2f}{unit}"


def whole_run(data_dir, number):
    """A default run in a subprocess, and where its time went: its last line, `Time: ...`, splits
    the time inside main(); the rest of the wall time is Python's start, the imports and the
    exit. Returns the time outside the epochs over the time of the epochs."""
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, os.path.join(REPO, "autoencoder.py"), "--no-show",
                                 "--no-download", "--data-dir", data_dir, "--out-dir", out_dir],
                                check=True, stdout=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        epochs = sum(json.loads(pathlib.Path(out_dir, "metrics.json").read_text())["epoch_seconds"])
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6   # Linux: kilobytes
    split = dict(re.findall(r"([a-z][a-z ]+) ([\d.]+) s", result.stdout.splitlines()[-1]))
    split = {"start, imports and exit": wall - sum(map(float, split.values())), **split}
    print(f"\nwhole default run {number} (autoencoder.py --no-show, {ae.EPOCH} epochs): {wall:.1f} s, "
          f"peak memory {peak_gb:.2f} GB so far")
    print("  " + " | ".join(f"{name} {float(value):.1f} s" for name, value in split.items()))
    print(f"  outside the training epochs: {wall - epochs:.1f} s, {(wall - epochs) / epochs:.2f}x "
          f"the {epochs:.1f} s of the epochs")
    return (wall - epochs) / epochs

if __name__ == "__main__":
    main()
