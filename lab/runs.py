"""Each run in a folder of its own: named after the flags it changes (or --name), held by one live
run at a time, and a row in OUT_DIR/runs.csv with compare.png redrawn after each run ends."""
import argparse
import collections
import contextlib
import csv
import errno
import json
import os
import pathlib
import tempfile
import time

import matplotlib.figure
import matplotlib.ticker
import numpy as np
from matplotlib import cm

from lab import checkpoints, measures, tensorboard
from lab.errors import UserError, say

OUT_DIR = "./results/"  # each run in a folder of its own in it, named after the flags it changes
# Without --out-dir, each run writes into OUT_DIR/<its name>: --name, or the flags it changes
LIVE_RUN = ".live-run"          # in a run's folder: locked while a run writes into it
HELD = {}       # the folders this process holds (main() runs one at a time): path -> open lock file
# what a lock that another process holds raises; other errors mean a file system without locks
LOCK_HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}
RUNS_TABLE = "runs.csv"         # in OUT_DIR: a row for every run there that finished or stopped
COMPARE_PICTURE = "compare.png"  # in OUT_DIR: every run's test loss per epoch, redrawn after each


def make_out_dir(path):
    """Create the output folder and hold it for this run; a UserError if it cannot be
    made or written to, or another live run writes into it."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as err:
        raise UserError(f"error: cannot write into the output folder {path} ({err.strerror}): "
                        "choose another with --out-dir")
    hold_folder(path)   # below: one live run per folder


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
    A UserError when another live run holds it. An earlier run in this process (a notebook
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
                raise UserError(f"error: {path} is in use by a live run ({who}): let it finish, or run "
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
    tensorboard.close_all()


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
           "test MSE": test_loss, "per image": test_loss and measures.per_image(test_loss),
           "PCA": metrics.get("pca_test_loss"), "5-NN": metrics.get("knn_accuracy"),
           "PCA's 5-NN": metrics.get("pca_knn_accuracy"), "seconds": seconds}
    row = {key: f"{value:.4g}" if isinstance(value, float) else value for key, value in row.items()}
    table, picture = os.path.join(OUT_DIR, RUNS_TABLE), os.path.join(OUT_DIR, COMPARE_PICTURE)
    try:
        with open(os.path.join(root, ".runs-lock"), "a+") as lock:
            lock_file(lock, wait=True)
            rows = add_row(table, row)
            fig = plot_runs(root)
            checkpoints.replace_atomically(picture, lambda name: fig.savefig(name, dpi=120))
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
    checkpoints.replace_atomically(table, write)
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
