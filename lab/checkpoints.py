"""Outputs that survive: the checkpoint after each epoch, and every file, written so that none is
ever half written; a checkpoint read back, with the flags of older ones filled in."""
import errno
import io
import os
import pathlib
import pickle

import torch

from lab.errors import UserError

def out_path(args, name):
    """Where a file of this run goes: name inside --out-dir."""
    return os.path.join(args.out_dir, name)


def new_history():
    return {"train_losses": [], "epoch_seconds": [], "test_loss": []}


def load_checkpoint(path, older, flag="--resume"):
    """A checkpoint, its flags with those of older files filled in from older (cli.older_config),
    or one line that says why the file is none; flag: the one that named it (--resume, --explore)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("config"), dict):
            raise TypeError("not a dict of a model, its flags and its history")  # a bare tensor, say
        config, _, _ = checkpoint["config"], checkpoint["history"], checkpoint["epoch"]
    except FileNotFoundError:
        raise UserError(f"error: {flag} {path}: no such file: give the autoencoder.pt of an earlier run")
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as err:
        raise UserError(f"error: {flag} {path} is not a checkpoint of autoencoder.py ({type(err).__name__}): "
                        "give the autoencoder.pt of an earlier run")
    checkpoint["config"] = {**older, **config}   # an older file lacks the flags added since
    return checkpoint


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
        raise UserError(f"error: could not write {path} ({err.strerror or err}): {fix} another folder "
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
