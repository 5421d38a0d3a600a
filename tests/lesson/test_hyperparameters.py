"""Hyper Parameters: the constants at the top of autoencoder.py are the run's defaults, read when
the flags are parsed, and importing the script runs nothing."""
import os
import subprocess
import sys

import autoencoder as ae
from conftest import REPO, headless_env


def test_importing_does_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import autoencoder"], cwd=tmp_path,
                            env=headless_env(PYTHONPATH=str(REPO)), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    assert list(tmp_path.iterdir()) == []       # no download, no results folder


def test_defaults_are_the_tutorials_constants():
    args = ae.parse_args([])
    assert (args.epochs, args.batch_size, args.lr, args.n_test_img) == (10, 64, 0.005, 5)
    assert (args.seed, args.data_dir, args.download) == (1, "./mnist/", True)
    assert args.out_dir == os.path.join("./results/", "tutorial")     # a folder per run: tutorial's
    assert (args.device, args.no_show) == ("auto", False)


def test_editing_a_constant_changes_the_default(monkeypatch):
    monkeypatch.setattr(ae, "EPOCH", 3)
    monkeypatch.setattr(ae, "LR", 0.01)
    monkeypatch.setattr(ae, "DOWNLOAD_MNIST", False)
    monkeypatch.setattr(ae, "LOSS", "bce")
    monkeypatch.setattr(ae, "SCHEDULE", "onecycle")
    args = ae.parse_args([])
    assert (args.epochs, args.lr, args.download, args.loss, args.schedule) == (3, 0.01, False, "bce",
                                                                              "onecycle")


def test_the_network_comes_from_the_constants_and_the_flags_override_them(monkeypatch):
    args = ae.parse_args([])
    assert (args.hidden, args.code_size, args.activation, args.weight_decay) == ([128, 64, 12], 3,
                                                                                 "tanh", 0.0)
    monkeypatch.setattr(ae, "HIDDEN", (300,))
    monkeypatch.setattr(ae, "CODE_SIZE", 150)
    monkeypatch.setattr(ae, "ACTIVATION", "elu")
    monkeypatch.setattr(ae, "WEIGHT_DECAY", 0.001)
    args = ae.parse_args([])
    assert (args.hidden, args.code_size, args.activation, args.weight_decay) == ([300], 150, "elu",
                                                                                 0.001)
    args = ae.parse_args(["--hidden", "256,64", "--code-size", "20", "--activation", "relu",
                          "--weight-decay", "1e-4"])
    assert (args.hidden, args.code_size, args.activation, args.weight_decay) == ([256, 64], 20,
                                                                                 "relu", 1e-4)
    assert ae.parse_args(["--hidden", ""]).hidden == [] == ae.parse_args(["--hidden="]).hidden
