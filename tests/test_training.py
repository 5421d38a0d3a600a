"""Training: the loss falls, the log has the tutorial's lines, real MNIST reaches the tutorial's loss."""
import json
import re

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, run_script


def synthetic_images(synthetic_mnist):
    root, _ = synthetic_mnist
    return ae.to_float_images(ae.load_mnist(str(root), download=False)[0], torch.device("cpu"))


def train_epochs(images, epochs, batch_size, figure=None, model=None, flags=()):
    """What main() does: a fresh model and optimizer, then train() once per epoch."""
    args = ae.parse_args(["--batch-size", str(batch_size), *flags])
    model = model or ae.AutoEncoder(args.hidden, args.code_size, args.activation,
                                    args.dropout, args.variational, args.tied)
    optimizer = ae.make_optimizer(model, args.lr, args.weight_decay)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(epochs):
        ae.train(args, model, optimizer, images, epoch, history, figure)
    return history


def test_loss_goes_down_on_a_fixed_batch(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=60, batch_size=64)   # one step per epoch
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert len(losses) == 60
    assert losses[-1] < 0.5 * losses[0]


def test_the_live_figure_shows_the_model_without_dropout_or_sampling():
    torch.manual_seed(0)
    model, x = ae.AutoEncoder(dropout=0.5, variational=True), torch.rand(3, 784)
    figure = ae.LiveFigure(x, show=None)
    model.train()
    figure.update(model, "now")
    assert model.training                                   # training goes on as before
    model.eval()
    with torch.no_grad():
        expected = model(x)[1].view(-1, 28, 28)
    for im, want in zip(figure.recon, expected):
        assert torch.allclose(torch.as_tensor(im.get_array()), want)
    assert figure.frames[-1][0] == "now" and len(figure.frames) == 1
    ae.plt.close(figure.fig)


@pytest.mark.parametrize("flags", [["--noise", "0.3"], ["--dropout", "0.2"], ["--variational"],
                                   ["--tied"], ["--variational", "--tied"]])
def test_each_variant_learns(synthetic_mnist, flags):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=100, batch_size=64, flags=flags)
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])     # noisy variants: compare averages


def test_train_logs_every_100_steps_and_times_every_epoch(synthetic_mnist, capsys):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)     # 2000 images, 125 steps of 16
    history = train_epochs(images, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    logged = [(e["epoch"], e["step"]) for e in history["train_losses"]]
    assert logged == [(0, 0), (0, 100), (1, 0), (1, 100)]
    printed = [(int(epoch), float(loss)) for epoch, loss in LOSS_LINE.findall(out)]
    assert printed == [(e["epoch"], round(e["loss"], 4)) for e in history["train_losses"]]
    assert len(history["epoch_seconds"]) == 2 and all(s > 0 for s in history["epoch_seconds"])
    assert len(re.findall(r"^Epoch \d took [\d.]+ s", out, re.M)) == 2


def test_train_updates_the_live_figure(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)
    model = ae.AutoEncoder()
    figure = ae.LiveFigure(images[:3], show=None)
    assert all(im.get_array().max() == 0 for im in figure.recon)     # blank before training
    history = train_epochs(images, epochs=1, batch_size=16, figure=figure, model=model)
    last = history["train_losses"][-1]
    assert figure.title.get_text() == f"epoch 0, step 100: loss {last['loss']:.4f}"

    figure.update(model, "now")
    with torch.no_grad():
        expected = model(images[:3])[1].view(-1, 28, 28)
    for im, want in zip(figure.recon, expected):
        assert torch.allclose(torch.as_tensor(im.get_array()), want)
    ae.plt.close(figure.fig)


def test_test_loss_is_the_mean_squared_error_over_all_pixels(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:300]
    model = ae.AutoEncoder()
    with torch.no_grad():
        decoded = model(images)[1].numpy().astype("float64")
    expected = ((decoded - images.numpy()) ** 2).mean()
    assert ae.test(model, images) == pytest.approx(expected, rel=1e-5)
    assert ae.test(model, images, batch_size=7) == pytest.approx(expected, rel=1e-5)  # ragged batches


def test_the_optimizer_is_the_tutorials_adam_fused():
    model = ae.AutoEncoder()
    optimizer = ae.make_optimizer(model, 0.005)
    assert isinstance(optimizer, torch.optim.Adam)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.005 and group["fused"] and len(group["params"]) == 16


# ---- Beyond the tutorial: PCA and nearest neighbours --------------------------------------------

def test_pca_finds_the_axes_a_synthetic_set_was_made_from():
    torch.manual_seed(0)
    axes, _ = torch.linalg.qr(torch.randn(784, 3))                 # orthonormal (784, 3)
    random = torch.randn(5000, 3)
    columns, _ = torch.linalg.qr(random - random.mean(0))         # zero-mean, uncorrelated
    coefficients = columns * 5000 ** 0.5 * torch.tensor([0.3, 0.2, 0.1])  # stds 0.3, 0.2, 0.1
    mean = torch.rand(784) * 0.5
    images = coefficients @ axes.T + mean                           # exactly 3-dimensional
    found_mean, found = ae.pca(images)
    assert torch.allclose(found_mean, images.mean(0), atol=1e-6)
    assert torch.allclose((found.T @ axes).abs(), torch.eye(3), atol=1e-4)   # same axes, in order
    assert ae.pca_test_loss(images, found_mean, found) < 1e-10
    spread = ((images - images.mean(0)) ** 2).mean().item()       # rebuilt from the mean image
    assert ae.pca_test_loss(images, found_mean, found[:, :0]) == pytest.approx(spread, rel=1e-4)
    assert ae.pca_test_loss(images, found_mean, found[:, :1]) == pytest.approx(
        spread * (0.2 ** 2 + 0.1 ** 2) / (0.3 ** 2 + 0.2 ** 2 + 0.1 ** 2), rel=0.05)


def test_knn_votes_among_the_5_nearest_and_breaks_ties_towards_the_smaller_label():
    train = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0], [11, 0, 0], [12, 0, 0],
                          [13, 0, 0], [50, 0, 0]])
    labels = torch.tensor([1, 1, 1, 7, 7, 7, 7, 3])
    queries = torch.tensor([[0.5, 0, 0], [11.5, 0, 0], [5.0, 0, 0], [40, 0, 0]])
    # 5 nearest: 1,1,1,7,7 -> 1 | 7,7,7,7,1 -> 7 | 1,1,1,7,7 -> 1 | 3,7,7,7,7 -> 7
    assert ae.knn_accuracy(train, labels, queries, torch.tensor([1, 7, 1, 7])) == 1.0
    assert ae.knn_accuracy(train, labels, queries, torch.tensor([1, 7, 7, 3])) == 0.5
    tie = torch.tensor([[0.0, 0], [0.1, 0], [5, 0], [5.1, 0], [9, 0]])
    assert ae.knn_accuracy(tie, torch.tensor([4, 4, 2, 2, 0]), torch.tensor([[2.5, 0]]),
                           torch.tensor([2])) == 1.0          # 2 votes each for 4 and 2: 2 wins


def test_one_epoch_on_real_mnist_reaches_the_tutorials_loss(real_mnist, tmp_path):
    result = run_script("--epochs", 1, "--data-dir", real_mnist, "--out-dir", tmp_path,
                        "--no-download", "--no-show", "--no-gif")
    assert result.returncode == 0, result.stderr
    losses = [float(loss) for _, loss in LOSS_LINE.findall(result.stdout)]
    assert len(losses) == 10                    # steps 0, 100, ..., 900 of 938
    assert losses[-1] < 0.06
    assert {p.name for p in tmp_path.iterdir()} == {
        "reconstructions.png", "latent_3d.png", "loss.png", "metrics.json", "autoencoder.pt",
        "generated.png", "code_grid.png", "interpolation.png", "worst.png"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["pca_test_loss"] == pytest.approx(0.0516, abs=5e-4)     # the known answer
    assert metrics["mean_image_test_loss"] == pytest.approx(0.067, abs=1e-3)
    assert len(metrics["test_loss"]) == 1 and metrics["test_loss"][0] < 0.0516 + 0.003
    assert metrics["knn_accuracy"] > metrics["pca_knn_accuracy"] > 0.3
