"""main(): whole runs of the script through the package, on synthetic data and on real MNIST; run
twice in one process; byte-identical pictures from two CPU runs with one seed."""
import json
import re
import socket
import sys

import PIL.Image
import PIL.ImageSequence
import matplotlib.image
import numpy as np
import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, run_script
from lab import cli


def load(path):
    return torch.load(path, weights_only=True)


def test_a_headless_run_prints_the_tutorials_lines_and_writes_its_files(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    out = tmp_path / "new" / "results"         # created when missing
    result = run_script("--epochs", 2, "--batch-size", 16, "--data-dir", root, "--out-dir", out,
                        "--no-show")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""                  # no traceback, no warning
    auto = cli.available_devices()[0]   # cuda or mps on a learner's GPU: the test holds there too
    assert result.stdout.startswith(f"Device: {auto}\n")
    assert "Training images: (2000, 28, 28), labels: (2000,)" in result.stdout
    printed = [(int(e), float(loss)) for e, loss in LOSS_LINE.findall(result.stdout)]
    assert [e for e, _ in printed] == [0, 0, 1, 1]

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["device"] == auto
    assert metrics["config"]["epochs"] == 2 and metrics["config"]["batch_size"] == 16
    assert [(m["epoch"], round(m["loss"], 4)) for m in metrics["train_losses"]] == printed
    assert [m["step"] for m in metrics["train_losses"]] == [0, 100, 0, 100]
    assert len(metrics["epoch_seconds"]) == 2 and all(s > 0 for s in metrics["epoch_seconds"])
    assert len(metrics["test_loss"]) == 2 and re.search(r"^Epoch:  1 \| test loss:  0\.\d{4}",
                                                         result.stdout, re.M)
    for key in ("final_test_loss", "pca_test_loss", "mean_image_test_loss"):
        assert 0 < metrics[key] < 0.2, key
    assert metrics["pca_test_loss"] < metrics["mean_image_test_loss"]     # the baselines in order
    # ten equally likely classes: a guess is right 10 % of the time; these codes sort them
    assert metrics["pca_knn_accuracy"] > 0.9 and metrics["knn_accuracy"] > 0.5
    assert "Test MSE per pixel: autoencoder" in result.stdout
    for name in ("final_test", "pca_test", "mean_image_test"):      # the unit of the 2006 paper
        assert metrics[f"{name}_error_per_image"] == pytest.approx(784 * metrics[f"{name}_loss"])
    line = re.search(r"^Test squared error per image, .*: autoencoder ([\d.]+) \| "
                     r"PCA, 3 components ([\d.]+) \| the mean image ([\d.]+)$", result.stdout, re.M)
    assert [float(x) for x in line.groups()] == [round(metrics[f"{name}_error_per_image"], 2) for name in
                                                 ("final_test", "pca_test", "mean_image_test")]
    assert re.search(r"^Epoch:  1 \| test loss:  0\.\d{4}, \d+\.\d\d per image", result.stdout, re.M)
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


def test_one_epoch_on_real_mnist_reaches_the_tutorials_loss(real_mnist, tmp_path):
    result = run_script("--epochs", 1, "--data-dir", real_mnist, "--out-dir", tmp_path,
                        "--no-download", "--no-show", "--no-gif")
    assert result.returncode == 0, result.stderr
    losses = [float(loss) for _, loss in LOSS_LINE.findall(result.stdout)]
    assert len(losses) == 10                    # steps 0, 100, ..., 900 of 938
    assert losses[-1] < 0.06
    assert {p.name for p in tmp_path.iterdir()} == {
        "reconstructions.png", "latent_3d.png", "loss.png", "metrics.json", "autoencoder.pt",
        "generated.png", "code_grid.png", "interpolation.png", "worst.png", "similar.png"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["pca_test_loss"] == pytest.approx(0.0516, abs=5e-4)     # the known answer
    assert metrics["mean_image_test_loss"] == pytest.approx(0.067, abs=1e-3)
    assert len(metrics["test_loss"]) == 1 and metrics["test_loss"][0] < metrics["pca_test_loss"]
    assert metrics["knn_accuracy"] > metrics["pca_knn_accuracy"] > 0.3


def test_main_twice_in_one_process_leaves_it_as_it_found_it(synthetic_mnist, tmp_path, capsys):
    root, _ = synthetic_mnist       # as a notebook runs the script twice in one kernel
    socket.setdefaulttimeout(None)
    streams = sys.stdout, sys.stderr
    printed = []
    for name in "ab":
        ae.main(["--epochs", "1", "--batch-size", "16", "--data-dir", str(root), "--out-dir", str(tmp_path / name),
                 "--no-show", "--no-gif", "--device", "cpu"])
        assert socket.getdefaulttimeout() is None       # 10 s only around the download
        assert (sys.stdout, sys.stderr) == streams
        printed.append(LOSS_LINE.findall(capsys.readouterr().out))
    assert printed[0] == printed[1] and len(printed[0]) == 2      # the same run again


def test_two_cpu_runs_with_one_seed_are_identical(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist     # the CPU asked for: on a GPU, sums may run in another order

    def same_seed(name, seed=3):    # with the animations, which --no-gif in run() leaves out
        return run_script("--data-dir", root, "--out-dir", tmp_path / name, "--batch-size", 16,
                          "--no-show", "--device", "cpu", "--epochs", 2, "--seed", seed)
    runs = [same_seed(name) for name in "ab"]
    assert all(result.returncode == 0 for result in runs), runs[0].stderr
    assert LOSS_LINE.findall(runs[0].stdout) == LOSS_LINE.findall(runs[1].stdout)
    weights = [load(tmp_path / name / "autoencoder.pt")["model"] for name in "ab"]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    pictures = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix in (".png", ".gif"))
    assert len(pictures) == 10 and {"latent_3d.gif", "similar.png"} <= set(pictures)   # the README: identical pictures
    for name in pictures:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = same_seed("c", seed=4)
    assert LOSS_LINE.findall(other.stdout) != LOSS_LINE.findall(runs[0].stdout)
    assert (tmp_path / "c" / "reconstructions.png").read_bytes() != (
        tmp_path / "a" / "reconstructions.png").read_bytes()
