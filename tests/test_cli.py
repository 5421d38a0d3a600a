"""Command line and outputs: flags, defaults, errors, and whole runs of the script."""
import json
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import PIL.Image
import PIL.ImageSequence
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
                          "no_show": True, "noise": 0.0, "dropout": 0.0, "variational": False,
                          "kl_weight": 0.001, "tied": False, "resume": None, "gif": True,
                          "hidden": [128, 64, 12], "code_size": 3, "activation": "tanh",
                          "weight_decay": 0.0}


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [("--epochs", "10"), ("--batch-size", "64"), ("--lr", "0.005"),
                          ("--n-test-img", "5"), ("--seed", "1"), ("--device", "auto"),
                          ("--data-dir", "./mnist/"), ("--out-dir", "./results/"),
                          ("--noise", "0.0"), ("--dropout", "0.0"), ("--kl-weight", "0.001"),
                          ("--hidden", "128,64,12"), ("--code-size", "3"), ("--activation", "tanh"),
                          ("--weight-decay", "0.0")]:
        assert re.search(rf"{flag} \S+ .*?\(default: {re.escape(default)}[),]", text), flag
    assert "--no-download" in text and "--no-show" in text


@pytest.mark.parametrize("argv, flag", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "ten"], "--epochs"), (["--epochs", "1.5"], "--epochs"),
    (["--batch-size", "-64"], "--batch-size"), (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"), (["--n-test-img", "0"], "--n-test-img"),
    (["--n-test-img", "21"], "--n-test-img"), (["--device", "tpu"], "--device"),
    (["--noise", "-0.1"], "--noise"), (["--dropout", "1"], "--dropout"),
    (["--kl-weight", "nan"], "--kl-weight"), (["--hidden", "0"], "--hidden"),
    (["--hidden", "12,abc"], "--hidden"), (["--hidden", "128,,12"], "--hidden"),
    (["--code-size", "0"], "--code-size"), (["--code-size", "785"], "--code-size"),
    (["--activation", "foo"], "--activation"), (["--weight-decay", "-0.001"], "--weight-decay"),
])
def test_a_bad_flag_is_one_line_naming_it(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err


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


def test_weight_decay_is_adams_l2_penalty():
    model = ae.AutoEncoder()
    assert ae.make_optimizer(model, 0.005).param_groups[0]["weight_decay"] == 0
    optimizer = ae.make_optimizer(model, 0.005, weight_decay=0.001)
    assert optimizer.param_groups[0]["weight_decay"] == 0.001
    with torch.no_grad():       # with zero gradients, only the penalty moves the weights: to 0
        before = [p.abs().sum().item() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    after = [p.abs().sum().item() for p in model.parameters()]
    assert all(a < b for a, b in zip(after, before) if b > 0)


def test_the_variants_are_flags_and_a_vae_gets_its_own_learning_rate():
    args = ae.parse_args(["--noise", "0.2", "--dropout", "0.1", "--variational", "--kl-weight", "0",
                          "--tied"])
    assert (args.noise, args.dropout, args.variational, args.kl_weight, args.tied) == (
        0.2, 0.1, True, 0.0, True)
    assert args.lr == ae.VAE_LR == 0.001
    assert ae.parse_args(["--variational", "--lr", "0.01"]).lr == 0.01


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
    assert len(metrics["test_loss"]) == 2 and re.search(r"^Epoch:  1 \| test loss:  0\.\d{4}",
                                                         result.stdout, re.M)
    for key in ("final_test_loss", "pca_test_loss", "mean_image_test_loss"):
        assert 0 < metrics[key] < 0.2, key
    assert 0 <= metrics["pca_knn_accuracy"] <= 1 and 0 <= metrics["knn_accuracy"] <= 1
    assert "Test MSE per pixel: autoencoder" in result.stdout
    assert "5-nearest-neighbour accuracy" in result.stdout

    for name in ("reconstructions.png", "latent_3d.png", "loss.png"):
        picture = matplotlib.image.imread(out / name)
        assert picture.ndim == 3 and picture.shape[0] > 200
        assert picture[..., :3].std() > 0.05, f"{name} is blank"

    # one frame per figure update (2 epochs x steps 0 and 100, and the end), the end held 2 s
    frames, durations = gif_frames(out / "reconstructions.gif")
    assert len(frames) == 5 and durations[-1] >= 2000
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))     # each frame shows a change
    frames, _ = gif_frames(out / "latent_3d.gif")
    assert len(frames) == 36 and all((a != b).any() for a, b in zip(frames, frames[1:]))
    assert re.search(r"^Animations: reconstructions.gif \(5 frames\) and latent_3d.gif took "
                     r"[\d.]+ s", result.stdout, re.M)


def gif_frames(path):
    """The frames of a GIF as arrays, and how long each is shown (ms)."""
    with PIL.Image.open(path) as gif:
        frames = [(np.asarray(frame.convert("RGB")), frame.info["duration"])
                  for frame in PIL.ImageSequence.Iterator(gif)]
    return [f for f, _ in frames], [d for _, d in frames]


def test_no_gif_skips_the_animations_and_no_figure_is_left_open(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    ae.main(["--epochs", "1", "--data-dir", str(root), "--out-dir", str(tmp_path), "--no-show",
             "--no-gif"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "autoencoder.pt", "code_grid.png", "generated.png", "interpolation.png", "latent_3d.png",
        "loss.png", "metrics.json", "reconstructions.png", "worst.png"]
    assert ae.plt.get_fignums() == []


@pytest.mark.parametrize("variant", [["--noise", "0.2", "--dropout", "0.1"], ["--variational", "--tied"]])
def test_a_variant_runs_end_to_end(synthetic_mnist, tmp_path, variant):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path, "--no-show",
                        "--no-gif", *variant)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["variational"] == ("--variational" in variant)
    assert metrics["final_test_loss"] == pytest.approx(metrics["test_loss"][-1])


def test_without_a_screen_a_gui_backend_never_blocks(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist      # no --no-show, no DISPLAY, and a GUI backend asked for
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path, "--no-gif",
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
    assert "cannot write into the output folder" in result.stderr and "Traceback" not in result.stderr
