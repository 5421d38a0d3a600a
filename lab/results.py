"""What a run writes beside training: after each epoch the test loss and a checkpoint; after the
last, the live figure's last frame, the scatter, the evaluation, loss.png, metrics.json and the
animations; after a stop signal only what is quick, and then the run ends."""
import json
import math
import pathlib
import shlex

import matplotlib.pyplot as plt
import torch

from lab import (animations, checkpoints, cli, code_sizes, display, evaluation, measures, network, runs,
                 tensorboard)
from lab.errors import UserError

def after_epoch(args, autoencoder, optimizer, test_images, history, figure):
    """The test loss on images never trained on, and a checkpoint to --resume from; in Spyder,
    the live figure's picture of the epoch."""
    display.show_epoch_picture(figure)
    history["test_loss"].append(measures.test_loss(autoencoder, test_images))
    test_loss = history["test_loss"][-1]
    print(f"Epoch:  {len(history['test_loss']) - 1} | test loss:  {test_loss:.4f}, "
          f"{measures.per_image(test_loss):.2f} per image ({len(test_images):,} unseen images)")
    checkpoints.save_checkpoint(checkpoints.out_path(args, "autoencoder.pt"), args, autoencoder,
                                optimizer, history)
    tensorboard.log_epoch(args, history, figure)   # with --tensorboard


def end_training(args, autoencoder, optimizer, history, figure, stop):
    """From here on a signal quits at once. A run stopped by one saves its checkpoint now,
    before any picture that might fail to be written; then the live figure's last frame."""
    stop.training = False
    if stop.requested:
        checkpoints.save_checkpoint(checkpoints.out_path(args, "autoencoder.pt"), args, autoencoder,
                                    optimizer, history)
    figure.update(autoencoder, f"stopped {stop.where()}" if stop.requested else
                  f"after {code_sizes.plural(len(history['test_loss']), 'epoch')}")
    checkpoints.save_atomically(checkpoints.out_path(args, "reconstructions.png"),
                                lambda name: figure.fig.savefig(name, dpi=120))


def write_results(args, autoencoder, history, figure, scatter, data, stop, clock, log_every):
    """After training: the scatter's picture, the evaluation, loss.png, metrics.json and the
    animations, then the command that explores the codes (--explore). data: (images, train_y,
    test_images, test_y); log_every: the lesson's LOG_EVERY. After a stop signal only what is
    quick; then the run ends."""
    name = code_sizes.latent_name(args.code_size)
    checkpoints.save_atomically(checkpoints.out_path(args, f"{name}.png"),
                                lambda path: scatter.savefig(path, dpi=120))
    parameters = sum(p.numel() for p in network.own_parameters(autoencoder))
    metrics = {"config": vars(args), "parameters": parameters, "device": data[0].device.type,
               "torch": torch.__version__, **history}
    pictures = [] if stop.requested else evaluation.evaluate_all(args, autoencoder, data, metrics, clock)
    save_losses_and_metrics(args, history, metrics, math.ceil(len(data[0]) / args.batch_size), log_every)
    files = f"autoencoder.pt, reconstructions.png, {name}.png, loss.png and metrics.json"
    if stop.requested:
        end_stopped(args, history, metrics, stop, clock, files)
    tensorboard.finish(args, autoencoder, metrics, data[2], data[3], cli.kept())
    clock.lap("pictures")
    written = animations.save_animations(args, figure, scatter, name) if args.gif else []
    if args.gif:
        clock.lap("animations")
    print(f"Wrote {', '.join(written + pictures)}, {files} to {args.out_dir}")
    runs.record_run(args, metrics, clock, stopped=False)
    print(f"Time: {clock}")
    command = "%run" if figure.show == "notebook" else "python"   # the next thing to try
    print(f"Play with the codes: {command} autoencoder.py --explore "
          f"{shlex.quote(checkpoints.out_path(args, 'autoencoder.pt'))}")
    if figure.show in ("notebook", "spyder"):     # the live figure is in the output already
        display.show_in_notebook(scatter)


def end_stopped(args, history, metrics, stop, clock, files):
    """A run stopped by a signal: its row in the table, a line that says how to go on, and the
    signal's exit status: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    plt.close("all")
    runs.record_run(args, metrics, clock, stopped=True)
    done, checkpoint = len(history["test_loss"]), checkpoints.out_path(args, "autoencoder.pt")
    go_on = (f"go on with --resume {checkpoint} (epoch {stop.epoch} starts again)"
             if done < args.epochs else f"all {done} epochs are in {checkpoint}")
    raise UserError(f"Stopped {stop.where()}: wrote {files} to {args.out_dir}; {go_on}",
                    128 + stop.signum)


def save_losses_and_metrics(args, history, metrics, steps, log_every):
    losses = plot_losses(history, steps, metrics.get("pca_test_loss"), args.code_size,
                         objective(args), log_every)
    checkpoints.save_atomically(checkpoints.out_path(args, "loss.png"),
                                lambda name: losses.savefig(name, dpi=120))
    plt.close(losses)       # a file only: the windows stay the tutorial's two
    checkpoints.save_atomically(checkpoints.out_path(args, "metrics.json"),
                                lambda name: pathlib.Path(name).write_text(json.dumps(metrics, indent=1)))


def objective(args):
    """What training minimises, in words, when it is more than the tutorial's squared error."""
    parts = ["the cross-entropy" if args.loss == "bce" else "the squared error"]
    parts += ["the KL term"] * args.variational + ["the L2 penalty"] * bool(args.l2)
    parts += ["the sparsity penalty"] * bool(args.sparsity)
    parts += ["the Jacobian penalty"] * bool(args.contractive)
    return None if parts == ["the squared error"] else " + ".join(parts)


def plot_losses(history, steps, pca_test_loss=None, code_size=3, objective=None, log_every=100):
    """The logged train losses and the test loss of each epoch, against epochs; objective: what
    the train loss is, when it is not the squared error alone."""
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    logged = history["train_losses"]
    ax.plot([e["epoch"] + e["step"] / steps for e in logged], [e["loss"] for e in logged],
            ".-", lw=1, ms=3, label=f"train, every {log_every} steps"
            + (f" (its loss: {objective})" if objective else ""))
    tested = history["test_loss"]
    ax.plot(range(1, len(tested) + 1), tested, "o-",
            label="test, after each epoch" + (" (its squared error)" if objective else ""))
    if pca_test_loss is not None:
        ax.axhline(pca_test_loss, color="gray", ls="--",
                   label=f"test, PCA with {code_sizes.plural(code_size, 'component')}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per pixel" if objective else "mean squared error per pixel")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
