"""Codes of other sizes than 3 (lab/code_sizes.py): their pictures, the live figure's code row, whole runs."""
import json

import matplotlib.image
import pytest
import torch

import autoencoder as ae
from conftest import run_script
from lab import code_sizes, measures


def test_a_code_is_drawn_as_a_picture_as_square_as_its_size_allows():
    assert code_sizes.code_picture_shape(64) == (8, 8)
    assert code_sizes.code_picture_shape(20) == (4, 5)
    assert code_sizes.code_picture_shape(150) == (10, 15)
    assert code_sizes.code_picture_shape(7) == (1, 7)       # a prime: a strip
    assert code_sizes.code_picture_shape(784) == (28, 28)
    assert code_sizes.code_picture_shape(1) == (1, 1)


def test_codes_longer_than_3_get_a_third_row_in_the_live_figure():
    torch.manual_seed(0)
    model, x = ae.AutoEncoder(code_size=64), torch.rand(4, 784)
    figure = ae.LiveFigure(x, show=None, code_size=64)
    figure.update(model, "now")
    with torch.no_grad():
        expected = model(x)[0].view(-1, 8, 8)
    assert len(figure.codes) == 4
    for im, want in zip(figure.codes, expected):
        assert torch.allclose(torch.as_tensor(im.get_array()), want)
        limit = 3 * expected.pow(2).mean().sqrt().item()      # 3 RMS: a few outliers saturate
        assert im.get_clim() == pytest.approx((-limit, limit))
    assert ae.LiveFigure(x, show=None, code_size=3).codes == []      # the tutorial's two rows
    ae.plt.close("all")


def texts(fig):
    return [t for t in fig.axes[0].texts]


def test_one_number_is_drawn_along_x_with_a_row_per_digit():
    codes, labels = torch.tensor([[0.5], [-2.0], [3.0]]), torch.tensor([4, 0, 9])
    fig = code_sizes.plot_codes(codes, labels, ae.plot_latent)
    points = [(t.get_position(), t.get_text()) for t in texts(fig)]
    assert [x for (x, _), _ in points] == [0.5, -2.0, 3.0]
    assert all(abs(y - int(s)) <= 0.3 for (_, y), s in points)       # the digit's row, jittered
    assert fig.axes[0].name == "rectilinear" and "1 number each" in fig.axes[0].get_title()
    ae.plt.close(fig)


def test_two_numbers_are_a_flat_scatter_of_digits():
    codes, labels = torch.tensor([[0.5, 1.0], [-2.0, 0.0]]), torch.tensor([4, 0])
    fig = code_sizes.plot_codes(codes, labels, ae.plot_latent)
    assert [t.get_position() for t in texts(fig)] == [(0.5, 1.0), (-2.0, 0.0)]
    assert [t.get_text() for t in texts(fig)] == ["4", "0"]
    assert "2 numbers each" in fig.axes[0].get_title()
    ae.plt.close(fig)


def test_longer_codes_are_seen_along_their_own_three_principal_axes():
    torch.manual_seed(0)
    axes, _ = torch.linalg.qr(torch.randn(10, 3))                   # orthonormal (10, 3)
    random = torch.randn(200, 3)
    columns, _ = torch.linalg.qr(random - random.mean(0))           # zero-mean, uncorrelated
    codes = columns * torch.tensor([30.0, 20.0, 10.0]) @ axes.T + 1  # 3-D inside 10-D, spreads 3:2:1
    fig = code_sizes.plot_codes(codes, torch.randint(0, 10, (200,)), ae.plot_latent)
    ax = fig.axes[0]
    assert ax.name == "3d" and "10 numbers each" in ax.get_title()
    assert "principal axes" in ax.get_title() and ax.get_xlabel() == "principal axis 1"
    for limits, axis in zip([ax.get_xlim(), ax.get_ylim(), ax.get_zlim()], axes.T):
        along = (codes - 1) @ axis                                   # the known axis, either sign
        assert sorted(map(abs, limits)) == pytest.approx(sorted(
            [abs(along.min().item()), abs(along.max().item())]), rel=1e-4)
    ae.plt.close(fig)


@pytest.mark.parametrize("code_size, scatter", [(1, "latent_1d"), (2, "latent_2d"),
                                                (4, "latent_3d"), (64, "latent_3d")])
def test_a_run_with_another_code_size_writes_every_picture(synthetic_mnist, tmp_path, code_size,
                                                            scatter):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--batch-size", 32, "--code-size", code_size, "--data-dir",
                        root, "--out-dir", tmp_path, "--no-show")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    gifs = ["reconstructions.gif"] + ["latent_3d.gif"] * (scatter == "latent_3d")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["autoencoder.pt", "loss.png", "metrics.json", "reconstructions.png", f"{scatter}.png", *gifs,
         "generated.png", "code_grid.png", "interpolation.png", "worst.png", "similar.png"])
    for name in ("reconstructions.png", f"{scatter}.png", "loss.png"):
        picture = matplotlib.image.imread(tmp_path / name)
        assert picture[..., :3].std() > 0.05, f"{name} is blank"
    rows = matplotlib.image.imread(tmp_path / "reconstructions.png").shape[0]
    assert rows == (432 if code_size > 3 else 288)      # 1.2 inches per row at 120 dpi
    numbers = f"{code_size} number" + "s" * (code_size > 1)
    assert f"PCA, {code_size} component{'s' * (code_size > 1)} 0." in result.stdout
    assert f"accuracy of the {numbers} on the test digits" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["code_size"] == code_size
    assert metrics["parameters"] == sum(p.numel() for p in ae.AutoEncoder(code_size=code_size).parameters())


def test_pcas_baseline_takes_as_many_components_as_the_code_has_numbers(synthetic_mnist, tmp_path):
    root, arrays = synthetic_mnist
    losses = {}
    for code_size in (2, 5):
        out = tmp_path / str(code_size)
        result = run_script("--epochs", 1, "--code-size", code_size, "--data-dir", root, "--out-dir",
                            out, "--no-show", "--no-gif")
        assert result.returncode == 0, result.stderr
        losses[code_size] = json.loads((out / "metrics.json").read_text())["pca_test_loss"]
    images, test_images = [ae.to_float_images(torch.from_numpy(arrays[train][0]), torch.device("cpu"))
                           for train in (True, False)]
    for code_size, loss in losses.items():
        mean, axes = measures.pca(images, code_size)
        assert loss == pytest.approx(measures.pca_test_loss(test_images, mean, axes), rel=1e-5)
    assert losses[5] < losses[2]


def test_no_hidden_layer_and_no_activation_run_with_every_picture(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--hidden", "", "--activation", "linear", "--code-size", 2,
                        "--data-dir", root, "--out-dir", tmp_path, "--no-show", "--no-gif")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "AutoEncoder: 784-2-784, linear" in result.stdout
    for name in ("latent_2d.png", "generated.png", "code_grid.png", "interpolation.png", "worst.png"):
        assert (tmp_path / name).exists(), name
