"""Outputs that survive (lab/checkpoints.py): whole files only, a checkpoint after every epoch, and
a file that cannot be written ending the run in one line. --resume is in test_resume.py."""
import errno
import os
import resource
import subprocess

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, headless_env, run_script, script
from lab import checkpoints, errors

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch


def run(root, out, *flags):
    return run_script("--data-dir", root, "--out-dir", out, *FAST, *flags)


def load(path):
    return torch.load(path, weights_only=True)


def test_save_atomically_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def crash(error):
        def write(name):
            with open(name, "w") as f:
                f.write("half")
            raise error
        return write
    with pytest.raises(errors.UserError) as error:
        checkpoints.save_atomically(str(path), crash(OSError(errno.ENOSPC, "No space left on device")))
    assert error.value.status == 1
    assert error.value.message == (f"error: could not write {path} (No space left on device): make "
                                   "room on the disk or choose another folder with --out-dir")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]
    with pytest.raises(errors.UserError) as error:
        checkpoints.save_atomically(str(path), crash(PermissionError(errno.EACCES, "Permission denied")))
    assert error.value.status == 1
    assert error.value.message.endswith("(Permission denied): check that folder, or choose another "
                                        "folder with --out-dir")
    checkpoints.save_atomically(str(path), lambda name: open(name, "w").close())
    assert path.read_text() == "" and os.listdir(tmp_path) == ["metrics.json"]


def test_every_epoch_saves_a_checkpoint_and_no_temporary_file_is_left(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    result = run(root, tmp_path, "--epochs", 2)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["autoencoder.pt", "code_grid.png", "generated.png",
                                            "interpolation.png", "latent_3d.png", "loss.png",
                                            "metrics.json", "reconstructions.png", "similar.png", "worst.png"]
    checkpoint = load(tmp_path / "autoencoder.pt")
    assert checkpoint["epoch"] == 2 and checkpoint["config"]["batch_size"] == 16
    assert len(checkpoint["history"]["test_loss"]) == 2
    model = ae.AutoEncoder()
    model.load_state_dict(checkpoint["model"])
    assert checkpoint["optimizer"]["param_groups"][0]["lr"] == 0.005


def test_a_checkpoint_that_cannot_be_written_stops_training_in_one_line(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist

    def small_files_only():     # as a full disk does: writes past 200 kB fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    result = subprocess.run(script("--data-dir", root, "--out-dir", tmp_path, *FAST, "--epochs", 3),
                            env=headless_env(), capture_output=True, text=True, timeout=300,
                            preexec_fn=small_files_only)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == (f"error: could not write {tmp_path / 'autoencoder.pt'} (File too large): "
                             "make room on the disk or choose another folder with --out-dir\n")
    assert {int(epoch) for epoch, _ in LOSS_LINE.findall(result.stdout)} == {0}   # training stopped
    assert os.listdir(tmp_path) == []                                  # no half file, no .part file


@pytest.mark.parametrize("name", ["reconstructions.png", "latent_3d.png", "loss.png", "metrics.json",
                                  "reconstructions.gif", "latent_3d.gif", "generated.png",
                                  "worst.png"])
def test_a_file_that_cannot_be_written_is_one_line_and_keeps_the_checkpoint(
        synthetic_mnist, tmp_path, monkeypatch, name):
    root, _ = synthetic_mnist
    rename = os.replace

    def full_disk(source, target):  # the file is written under its temporary name, then this
        if os.path.basename(target) == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        rename(source, target)
    monkeypatch.setattr(os, "replace", full_disk)     # lab.checkpoints calls os.replace
    with pytest.raises(SystemExit) as exit_info:
        ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--batch-size", "16",
                 "--no-show", "--epochs", "2"])
    checkpoint = tmp_path / "autoencoder.pt"
    assert exit_info.value.code == (
        f"error: could not write {tmp_path / name} (No space left on device): make room on the disk "
        f"or choose another folder with --out-dir; the last checkpoint, {checkpoint}, is kept")
    assert load(checkpoint)["epoch"] == 2
    assert name not in os.listdir(tmp_path) and not [f for f in os.listdir(tmp_path) if ".part" in f]
    ae.plt.close("all")


def test_a_temporary_file_has_a_name_of_its_own_and_never_stays(tmp_path):
    names = []

    def write(name):
        names.append(name)
        open(name, "w").write("x")
    for _ in range(2):
        checkpoints.save_atomically(str(tmp_path / "metrics.json"), write)
    assert names[0] != names[1] and all(str(os.getpid()) in name and name.endswith(".json")
                                        for name in names)
    assert os.listdir(tmp_path) == ["metrics.json"]
