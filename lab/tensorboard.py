"""--tensorboard: the losses, the live figure's frames, the flags and final measures (HParams), and
the codes of test digits for the embedding projector, logged into the run's folder."""
import contextlib
import pathlib

import numpy as np

from lab import flags, frames, measures

N_EMBEDDING = 2000              # --tensorboard: test digits in the embedding projector
BOARDS = {}     # --tensorboard: folder -> its SummaryWriter


def log_epoch(args, history, figure):
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
        writer.add_image("live figure", np.asarray(frames.paint(figure, frame).convert("RGB")), at,
                         dataformats="HWC")
    writer.logged = len(entries)
    writer.add_scalar("loss/test", history["test_loss"][-1], len(history["test_loss"]) * steps)
    writer.flush()


def finish(args, autoencoder, metrics, test_images, test_labels, kept):
    """The run's flags (kept: those a checkpoint keeps, cli.kept()) and final measures for the
    HParams view; the codes of N_EMBEDDING test digits for the projector, each with its picture
    and its label."""
    writer = BOARDS.get(args.out_dir) if args.tensorboard else None
    if writer is None:
        return
    hparams = {name: value if isinstance(value, (int, float, str, bool)) else str(flags.show_value(value))
               for name, value in vars(args).items() if name in [*kept["model"], *kept["training"], "epochs"]}
    final = {f"hparam/{name}": metrics[name] for name in ("final_test_loss", "knn_accuracy",
                                                          "pca_test_loss") if name in metrics}
    writer.add_hparams(hparams, final, run_name=".")
    x = test_images[:N_EMBEDDING]
    old = pathlib.Path(args.out_dir, "00000", "codes")      # the last run's codes, or the checkpoint's
    for path in [*old.glob("*"), old]:
        with contextlib.suppress(OSError):
            path.rmdir() if path.is_dir() else path.unlink()
    writer.add_embedding(measures.codes(autoencoder, x).cpu(), metadata=test_labels[:N_EMBEDDING].tolist(),
                         label_img=x.cpu().view(-1, 1, 28, 28), tag="codes")
    BOARDS.pop(args.out_dir).close()


def close_all():
    """Every writer closes: at the run's end, after an error too."""
    while BOARDS:
        BOARDS.popitem()[1].close()
