"""What the trained decoder can do (lab/decoder.py): new digits, the map of the codes, morphing,
the worst digits."""
import argparse
import json
import re

import matplotlib.image
import numpy as np
import pytest
import torch

import autoencoder as ae
from lab import decoder, kinds, measures

PICTURES = ["generated.png", "code_grid.png", "interpolation.png", "worst.png"]


def tile(fig, i, cols):
    """The i-th 28x28 digit of a plot_mosaic figure."""
    canvas = fig.axes[0].images[0].get_array()
    top, left = 2 + (i // cols) * 30, 2 + (i % cols) * 30
    return torch.as_tensor(np.asarray(canvas[top:top + 28, left:left + 28])).reshape(784)


def test_sampled_codes_have_the_mean_and_covariance_they_claim():
    generator = torch.Generator().manual_seed(0)
    mean = torch.tensor([1.0, -2.0, 0.5])
    a = torch.tensor([[1.0, 0, 0], [0.5, 2, 0], [0, 0, 0]])    # a singular covariance: codes in a plane
    covariance = a @ a.T
    samples = decoder.sample_codes(mean, covariance, 200_000, generator).double()
    assert torch.allclose(samples.mean(0), mean.double(), atol=0.02)
    assert torch.allclose(torch.from_numpy(np.cov(samples.numpy().T)), covariance.double(), atol=0.03)
    assert samples[:, 2].std() < 1e-6       # no spread where the covariance has none


def test_new_codes_come_from_the_prior_for_a_vae_and_from_the_fitted_gaussian_otherwise():
    torch.manual_seed(0)
    train_codes = torch.randn(5000, 4) @ torch.randn(4, 4) + torch.tensor([3.0, 0, -1, 2])
    mean, covariance = decoder.code_gaussian(train_codes, variational=False)
    np.testing.assert_allclose(mean.numpy(), train_codes.numpy().mean(0), atol=1e-5)
    np.testing.assert_allclose(covariance.numpy(), np.cov(train_codes.numpy().T), rtol=1e-4, atol=1e-4)
    mean, covariance = decoder.code_gaussian(train_codes, variational=True)
    assert torch.equal(mean, torch.zeros(4)) and torch.equal(covariance, torch.eye(4))
    mean, covariance = decoder.code_gaussian(train_codes[:, :1], variational=False)   # one number
    assert covariance.shape == (1, 1)


def test_the_grid_of_2_numbers_spans_the_codes_range_or_the_priors_quantiles():
    train_codes = torch.tensor([[-1.0, 10.0], [3.0, 20.0], [0.0, 15.0]])
    grid, span = decoder.grid_codes(train_codes, variational=False)
    assert grid.shape == (decoder.N_GRID ** 2, 2) and "range" in span
    assert grid[0].tolist() == [-1.0, 20.0] and grid[-1].tolist() == [3.0, 10.0]   # top left, bottom right
    grid, span = decoder.grid_codes(train_codes, variational=True)
    assert grid[0].tolist() == pytest.approx([-1.6449, 1.6449], abs=1e-4) and "quantiles" in span
    grid, _ = decoder.grid_codes(train_codes[:, :1], variational=False)
    assert grid[:, 0].tolist() == pytest.approx(np.linspace(-1, 3, decoder.N_GRID).tolist())


def test_the_grid_of_longer_codes_is_a_plane_through_the_mean_along_the_principal_axes():
    torch.manual_seed(0)
    train_codes = torch.randn(3000, 5) * torch.tensor([5.0, 3, 1, 0.5, 0.1]) + 7
    grid, span = decoder.grid_codes(train_codes, variational=False)
    assert "plane through the mean" in span
    centre = grid[len(grid) // 2]
    assert torch.allclose(centre, train_codes.mean(0), atol=1e-4)
    # the plane's directions are the top two right singular vectors of the centred codes
    _, _, vt = np.linalg.svd(train_codes.numpy() - train_codes.numpy().mean(0), full_matrices=False)
    offsets = (grid - centre).numpy()
    residual = offsets - offsets @ vt[:2].T @ vt[:2]
    assert np.abs(residual).max() < 1e-3 and np.abs(offsets).max() > 5


def test_the_pictures_decode_the_codes_they_claim():
    torch.manual_seed(0)
    model = ae.AutoEncoder(code_size=2)
    test_images, test_labels = torch.rand(40, 784), torch.arange(40) % 10
    train_codes = measures.codes(model, torch.rand(100, 784))
    fig = decoder.plot_code_grid(model, train_codes, variational=False)
    grid, _ = decoder.grid_codes(train_codes, variational=False)
    for i in (0, 7, len(grid) - 1):
        assert torch.allclose(tile(fig, i, decoder.N_GRID), measures.decode(model, grid[i:i + 1])[0],
                              atol=1e-6)
    fig = decoder.plot_interpolation(model, test_images, test_labels)
    for row, (a, b) in enumerate(decoder.PAIRS):     # the ends of each row rebuild the two test digits
        first, last = 2 * row * decoder.N_STEPS, (2 * row + 1) * decoder.N_STEPS - 1
        assert torch.allclose(tile(fig, first, decoder.N_STEPS),
                              measures.reconstruct(model, test_images[a:a + 1])[0],
                              atol=1e-5)
        assert torch.allclose(tile(fig, last, decoder.N_STEPS),
                              measures.reconstruct(model, test_images[b:b + 1])[0],
                              atol=1e-5)
        blend = tile(fig, last + decoder.N_STEPS, decoder.N_STEPS)    # the pixel row ends at b itself
        assert torch.allclose(blend, test_images[b], atol=1e-6)
    ae.plt.close("all")


def brute_force_losses(out, test_images):
    """Each test image's error, one at a time in float64, from the saved model."""
    checkpoint = torch.load(out / "autoencoder.pt", weights_only=True)
    model = kinds.build(argparse.Namespace(**checkpoint["config"]), ae.AutoEncoder)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    with torch.no_grad():
        return [((model(x[None])[1][0].double() - x.double()) ** 2).mean().item() for x in test_images]


@pytest.mark.parametrize("code_size", [2, 3, 4])
@pytest.mark.parametrize("variational", [False, True])
def test_a_run_writes_every_picture_and_ranks_the_worst_digits(synthetic_mnist, tmp_path, capsys,
                                                                code_size, variational):
    root, arrays = synthetic_mnist
    ae.main(["--epochs", "1", "--code-size", str(code_size), "--data-dir", str(root), "--out-dir",
             str(tmp_path), "--no-show", "--no-gif", *["--variational"] * variational])
    printed = capsys.readouterr().out
    for name in PICTURES:
        picture = matplotlib.image.imread(tmp_path / name)
        assert picture[..., :3].std() > 0.05, f"{name} is blank"
    assert not (tmp_path / "denoised.png").exists()          # only with --noise
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    test_images = ae.to_float_images(torch.from_numpy(arrays[False][0]), torch.device("cpu"))
    losses = brute_force_losses(tmp_path, test_images)
    tenth = sorted(losses, reverse=True)[decoder.N_WORST - 1]
    worst = metrics["worst_test_images"]
    assert len(worst) == decoder.N_WORST == len({w["index"] for w in worst})
    assert [w["mse"] for w in worst] == sorted([w["mse"] for w in worst], reverse=True)
    for w in worst:     # the brute-force ranking's top 10, up to float32 ties
        assert w["mse"] == pytest.approx(losses[w["index"]], rel=1e-4)
        assert losses[w["index"]] >= tenth * (1 - 1e-4)
        assert w["label"] == int(arrays[False][1][w["index"]])
    counts = np.bincount(arrays[False][1], minlength=10)
    by_digit = metrics["test_loss_by_digit"]
    assert np.dot(by_digit, counts) / counts.sum() == pytest.approx(metrics["final_test_loss"], rel=1e-4)
    line = re.search(r"^Digits from the hardest to the easiest to rebuild .*: (.*)$", printed, re.M)
    assert [int(part.split()[0]) for part in line[1].split(" | ")] == sorted(
        range(10), key=lambda d: -by_digit[d])
    assert re.search(r"^Decoder pictures: generated.png, code_grid.png, interpolation.png, worst.png "
                     r"took [\d.]+ s$", printed, re.M)
    assert ae.plt.get_fignums() == []


def test_a_denoising_run_shows_what_it_is_for(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    ae.main(["--epochs", "1", "--noise", "0.3", "--data-dir", str(root), "--out-dir", str(tmp_path),
             "--no-show", "--no-gif"])
    picture = matplotlib.image.imread(tmp_path / "denoised.png")
    assert picture[..., :3].std() > 0.05
    assert all((tmp_path / name).exists() for name in PICTURES)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # the numbers by hand, from the saved model and noise of our own (the claim itself, that the
    # outputs are closer to the clean digits, is checked on real MNIST below)
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = kinds.build(argparse.Namespace(**checkpoint["config"]), ae.AutoEncoder)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    clean = ae.to_float_images(torch.from_numpy(synthetic_mnist[1][False][0]), torch.device("cpu"))
    noisy = (clean + 0.3 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(5))).clamp(0, 1)
    with torch.no_grad():
        rebuilt = model(noisy)[1]
    assert ((noisy - clean) ** 2).mean() == pytest.approx(metrics["noisy_test_loss"], rel=0.05)
    assert ((rebuilt - clean) ** 2).mean() == pytest.approx(metrics["denoised_test_loss"], rel=0.05)


def test_a_denoising_run_on_real_mnist_takes_noise_away(real_mnist, tmp_path):
    ae.main(["--epochs", "1", "--noise", "0.5", "--data-dir", str(real_mnist), "--out-dir", str(tmp_path),
             "--no-download", "--no-show", "--no-gif", "--device", "cpu"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # the outputs are far closer to the clean digits than the noisy inputs, and closer than the
    # mean image: not a blur that ignores its input (measured: 0.1156, 0.0577, 0.0675)
    assert metrics["denoised_test_loss"] < 0.6 * metrics["noisy_test_loss"]
    assert metrics["denoised_test_loss"] < metrics["mean_image_test_loss"] - 0.005
