"""Command line and outputs: flags, defaults, errors, and whole runs of the script."""
import json
import re
import subprocess
import sys

import matplotlib.image
import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, REPO, headless_env, run_script


def test_defaults_are_the_tutorials_constants():
    args = ae.parse_args([])
    assert (args.epochs, args.batch_size, args.lr, args.n_test_img) == (10, 64, 0.005, 5)
    assert (args.seed, args.data_dir, args.out_dir, args.download) == (1, "./mnist/", "./results/", True)
    assert (args.device, args.no_show) == ("auto", False)


def test_editing_a_constant_changes_the_default(monkeypatch):
    monkeypatch.setattr(ae, "EPOCH", 3)
    monkeypatch.setattr(ae, "LR", 0.01)
    monkeypatch.setattr(ae, "DOWNLOAD_MNIST", False)
    args = ae.parse_args([])
    assert (args.epochs, args.lr, args.download) == (3, 0.01, False)


def test_flags_override_the_constants():
    args = ae.parse_args(["--epochs", "2", "--batch-size", "128", "--lr", "1e-3", "--n-test-img", "8",
                          "--seed", "7", "--device", "cpu", "--data-dir", "d", "--out-dir", "o",
                          "--no-download", "--no-show"])
    assert vars(args) == {"epochs": 2, "batch_size": 128, "lr": 0.001, "n_test_img": 8, "seed": 7,
                          "device": "cpu", "data_dir": "d", "out_dir": "o", "download": False,
                          "no_show": True}


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [("--epochs", "10"), ("--batch-size", "64"), ("--lr", "0.005"),
                          ("--n-test-img", "5"), ("--seed", "1"), ("--device", "auto"),
                          ("--data-dir", "./mnist/"), ("--out-dir", "./results/")]:
        assert re.search(rf"{flag} \S+ .*?\(default: {re.escape(default)}\)", text), flag
    assert "--no-download" in text and "--no-show" in text


@pytest.mark.parametrize("argv, flag", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "ten"], "--epochs"), (["--epochs", "1.5"], "--epochs"),
    (["--batch-size", "-64"], "--batch-size"), (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"), (["--n-test-img", "0"], "--n-test-img"),
    (["--n-test-img", "21"], "--n-test-img"), (["--device", "tpu"], "--device"),
])
def test_a_bad_flag_is_one_line_naming_it(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_says_what_to_use(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--device", "cuda"])
    assert exit_info.value.code == 2
    assert "--device cpu" in capsys.readouterr().err


def test_importing_does_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import autoencoder"], cwd=tmp_path,
                            env=headless_env(PYTHONPATH=str(REPO)), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    assert list(tmp_path.iterdir()) == []       # no download, no results folder


def test_a_headless_run_prints_the_tutorials_lines_and_writes_its_files(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    out = tmp_path / "new" / "results"         # created when missing
    result = run_script("--epochs", 2, "--batch-size", 16, "--data-dir", root, "--out-dir", out,
                        "--no-show")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""                  # no traceback, no warning
    assert result.stdout.startswith("Device: cpu\n")
    assert "Training images: (2000, 28, 28), labels: (2000,)" in result.stdout
    printed = [(int(e), float(loss)) for e, loss in LOSS_LINE.findall(result.stdout)]
    assert [e for e, _ in printed] == [0, 0, 1, 1]

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["device"] == "cpu"
    assert metrics["config"]["epochs"] == 2 and metrics["config"]["batch_size"] == 16
    assert [(m["epoch"], round(m["loss"], 4)) for m in metrics["train_losses"]] == printed
    assert [m["step"] for m in metrics["train_losses"]] == [0, 100, 0, 100]
    assert len(metrics["epoch_seconds"]) == 2 and all(s > 0 for s in metrics["epoch_seconds"])

    for name in ("reconstructions.png", "latent_3d.png"):
        picture = matplotlib.image.imread(out / name)
        assert picture.ndim == 3 and picture.shape[0] > 200
        assert picture[..., :3].std() > 0.05, f"{name} is blank"


def test_without_a_screen_a_gui_backend_never_blocks(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist      # no --no-show, no DISPLAY, and a GUI backend asked for
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path,
                        env=headless_env(MPLBACKEND="TkAgg"), timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "latent_3d.png").exists()


def test_missing_data_is_one_line_without_traceback(tmp_path):
    result = run_script("--no-download", "--data-dir", tmp_path / "nowhere", "--out-dir", tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: MNIST is not in") and result.stderr.count("\n") == 1


def test_an_output_folder_that_cannot_be_made_is_one_line(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run_script("--data-dir", root, "--out-dir", tmp_path / "taken")
    assert result.returncode == 1
    assert "cannot create the output folder" in result.stderr and "Traceback" not in result.stderr
