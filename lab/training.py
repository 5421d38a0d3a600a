"""Training's bookkeeping beside the lesson's loop: the loss it minimises (the lesson's loss_func,
--loss bce's cross-entropy, a kind's terms, --l2), the learning rate's schedule, the log of each
epoch, a loss that stops being a number, and where the run's time goes."""
import contextlib
import math
import os
import time

import torch
from torch import nn

from lab import kinds, network
from lab.errors import UserError

# Hinton & Salakhutdinov (2006) trained on this: each pixel taken as the probability of ink
cross_entropy = nn.BCELoss()    # the mean over pixels of -(y log p + (1 - y) log(1 - p))


def training_loss(args, autoencoder, loss_func):
    """loss_func, the lesson's squared error, or --loss bce's cross-entropy; plus the terms that
    the autoencoder's kind adds (a VAE's KL term, --sparsity's and --contractive's penalties)
    and --l2's penalty on the weights."""
    pixel_loss = loss_func if args.loss == "mse" else cross_entropy

    def loss(decoded, b_y):
        total = pixel_loss(decoded, b_y)
        for term in kinds.loss_terms(autoencoder).values():
            total = total + term
        if args.l2:
            total = total + args.l2 * network.l2_penalty(autoencoder)
        return total
    return loss


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
    half cosine in the first 30 % of the steps, then falls to lr/250,000, while Adam's beta1 (or
    SGD's momentum; Adadelta has neither) moves the other way, 0.95 to 0.85 and back. cosine:
    CosineAnnealingLR, from lr down to 0. constant: lr at every step, as in the tutorial."""
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
            if beta1 is not None and "betas" in group:
                group["betas"] = (beta1, group["betas"][1])
            elif beta1 is not None and "momentum" in group:    # SGD's, as OneCycleLR moves it
                group["momentum"] = beta1

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
        self.last_step = 0     # of the last log line: the steps since then give the speed

    def keep(self, step, loss):
        self.losses[step] = loss.detach()

    def record(self, step, value):
        """Checks the losses so far and keeps value; returns "step  100/938 |   31,768 img/s"."""
        check_finite(self.losses[:step + 1], self.epoch)
        now = time.perf_counter()
        rate = max(step - self.last_step, 1) * self.batch_size / max(now - self.last_line, 1e-9)
        self.last_line, self.last_step = now, step
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


@contextlib.contextmanager
def exit_if_diverged(args):
    """Training whose loss or weights stop being numbers ends in one line that says what to try."""
    try:
        yield
    except FloatingPointError as err:
        path = os.path.join(args.out_dir, "autoencoder.pt")
        raise UserError(f"error: training diverged: {err}: try a smaller --lr than {args.lr}" + (
            f"; the last good checkpoint, {path}, is kept" if os.path.exists(path) else ""))
