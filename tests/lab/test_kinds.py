"""The variants beside the tutorial's model: variational, tied, denoising (noise and dropout)."""
import argparse
import copy
import json

import pytest
import torch
from torch import nn

import autoencoder as ae
from autoencoder import AutoEncoder
from conftest import layer_plan, run_script, synthetic_images, train_epochs


def test_the_variants_are_flags_and_a_vae_gets_its_own_learning_rate():
    args = ae.parse_args(["--noise", "0.2", "--dropout", "0.1", "--variational", "--kl-weight", "0",
                          "--tied"])
    assert (args.noise, args.dropout, args.variational, args.kl_weight, args.tied) == (
        0.2, 0.1, True, 0.0, True)
    assert args.lr == ae.VAE_LR == 0.001
    assert ae.parse_args(["--variational", "--lr", "0.01"]).lr == 0.01


def test_variational_samples_in_training_uses_the_mean_otherwise_and_measures_kl():
    torch.manual_seed(0)
    model, x = ae.VariationalAutoEncoder(), torch.rand(5, 784)
    assert isinstance(model, AutoEncoder)       # an addition beside the tutorial's model
    mean, log_var = model.encoder(x), model.log_var(model.encoder[:-1](x))
    model.train()
    first, second = model(x)[0], model(x)[0]
    assert first.shape == (5, 3) and not torch.equal(first, second)      # sampled
    std = (0.5 * log_var).exp()
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(mean, std),
                                                 torch.distributions.Normal(0, 1)).sum(1).mean()
    assert torch.allclose(model.kl, expected, atol=1e-6)
    model.eval()
    assert torch.equal(model(x)[0], mean)       # the encoder gives the means: codes() needs no change


def test_tied_decoder_uses_the_encoders_weights_transposed():
    torch.manual_seed(0)
    model, x = AutoEncoder(), torch.rand(3, 784)
    ae.tie_weights(model)
    assert len(list(model.parameters())) == 8 + 4       # encoder weights and biases, decoder biases
    linears = [m for m in model.encoder if isinstance(m, nn.Linear)][::-1]
    h = model.encoder(x)
    for layer, activation in zip(linears, [torch.tanh] * 3 + [torch.sigmoid]):
        h = activation(h @ layer.weight + 0)        # bias starts at zero
    assert torch.allclose(model(x)[1], h, atol=1e-6)
    with torch.no_grad():
        model.encoder[0].weight.mul_(2)             # one matrix: both halves change
    assert not torch.allclose(model(x)[1], h)


def test_noise_and_dropout_change_the_input_where_the_batch_is_made_never_the_target():
    torch.manual_seed(0)
    images = torch.rand(40, 784)
    for b_x, b_y in ae.batches(images, 8):      # the tutorial's: the input is the target
        assert b_x is b_y
    for b_x, b_y in ae.batches(images, 8, noise=0.3):
        assert b_x.min() >= 0 and b_x.max() <= 1                # clamped to pixels
        assert 0.15 < (b_x - b_y).std() < 0.3                     # std 0.3 before clamping
    seen = []
    for b_x, b_y in ae.batches(images, 8, dropout=0.5):
        dropped = b_x == 0
        assert 0.35 < dropped.float().mean() < 0.65
        assert torch.allclose(b_x[~dropped], 2 * b_y[~dropped])    # the others scaled by 1 / (1 - p)
        seen.append(b_y)
    assert torch.equal(torch.cat(seen).sort(0).values, images.sort(0).values)   # targets untouched


def test_every_code_size_works_with_the_variational_and_tied_variants():
    torch.manual_seed(0)
    x = torch.rand(5, 784)
    for code_size in (1, 2, 4, 64, 784):
        model = ae.VariationalAutoEncoder(ae.AutoEncoder(hidden=[32], code_size=code_size))
        ae.tie_weights(model)
        assert layer_plan(model.encoder)[0] == [(784, 32), (32, code_size)]     # the means
        assert (model.log_var.in_features, model.log_var.out_features) == (32, code_size)
        encoded, decoded = model(x)
        assert encoded.shape == (5, code_size) and decoded.shape == (5, 784) and model.kl > 0
        assert len(list(model.parameters())) == 4 + 2 + 2  # encoder, log-variances, decoder biases


def test_tied_weights_mirror_a_network_of_any_shape():
    torch.manual_seed(0)
    model, x = AutoEncoder(hidden=[50], code_size=4, activation="elu"), torch.rand(3, 784)
    ae.tie_weights(model)
    first, second = [m for m in model.encoder if isinstance(m, nn.Linear)]
    expected = torch.sigmoid(nn.functional.elu(model.encoder(x) @ second.weight) @ first.weight)
    assert torch.allclose(model(x)[1], expected, atol=1e-6)    # the decoder's biases start at zero


@pytest.mark.parametrize("flags, kind, tied", [([], AutoEncoder, 0), (["--variational"], ae.VariationalAutoEncoder, 0),
                                               (["--tied"], AutoEncoder, 4),
                                               (["--variational", "--tied"], ae.VariationalAutoEncoder, 4)])
def test_the_flags_build_the_tutorials_model_or_a_variant_beside_it(flags, kind, tied, capsys):
    model = ae.build_autoencoder(ae.parse_args(flags))
    assert type(model) is kind
    assert sum(isinstance(m, ae.TiedLinear) for m in model.decoder) == tied
    assert capsys.readouterr().out.startswith(f"{kind.__name__}: 784-128-64-12-3-12-64-128-784, tanh, ")


def test_the_vae_adds_its_weighted_kl_term_to_the_tutorials_loss():
    torch.manual_seed(0)
    assert ae.training_loss(ae.parse_args([]), AutoEncoder()) is ae.loss_func
    model, x = ae.VariationalAutoEncoder(), torch.rand(4, 784)
    _, decoded = model(x)
    loss = ae.training_loss(ae.parse_args(["--variational", "--kl-weight", "0.5"]), model)(decoded, x)
    expected = ((decoded - x) ** 2).mean() + 0.5 * model.kl
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_live_figure_shows_the_vaes_means_without_sampling():
    torch.manual_seed(0)
    model, x = ae.VariationalAutoEncoder(), torch.rand(3, 784)
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


@pytest.mark.parametrize("flags", [["--noise", "0.3"], ["--dropout", "0.2"], ["--variational"],
                                   ["--tied"], ["--variational", "--tied"]])
def test_each_variant_learns(synthetic_mnist, flags):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=100, batch_size=64, flags=flags)
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])     # noisy variants: compare averages


@pytest.mark.parametrize("variant", [["--noise", "0.2", "--dropout", "0.1"], ["--variational", "--tied"]])
def test_a_variant_runs_end_to_end(synthetic_mnist, tmp_path, variant):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path, "--no-show",
                        "--no-gif", *variant)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["variational"] == ("--variational" in variant)
    # the test loss recomputed from the saved model, in float64, one image at a time: for a VAE
    # the code's mean, without a random draw
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = ae.build_autoencoder(argparse.Namespace(**checkpoint["config"]))
    model.load_state_dict(checkpoint["model"])
    model.eval()
    test_images = ae.to_float_images(torch.from_numpy(synthetic_mnist[1][False][0]), torch.device("cpu"))
    with torch.no_grad():
        expected = sum(((model(x[None])[1][0].double() - x.double()) ** 2).mean().item()
                       for x in test_images) / len(test_images)
    assert metrics["final_test_loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("variant", [["--variational"], ["--tied"], ["--noise", "0.2"],
                                     ["--dropout", "0.2"]])
def test_each_variant_runs_with_another_code_size(synthetic_mnist, tmp_path, variant):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--code-size", 5, "--hidden", "64", "--activation", "relu",
                        "--data-dir", root, "--out-dir", tmp_path, "--no-show", "--no-gif", *variant)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "latent_3d.png").exists() and "PCA, 5 components" in result.stdout
    assert "AutoEncoder: 784-64-5-64-784, relu" in result.stdout


def test_train_makes_the_noisy_input_and_adds_the_vaes_kl_term(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)[:64]
    args = ae.parse_args(["--variational", "--kl-weight", "10", "--noise", "0.2", "--batch-size", "64"])
    torch.manual_seed(0)
    model = ae.VariationalAutoEncoder()
    start = copy.deepcopy(model.state_dict())
    history = {"train_losses": [], "epoch_seconds": []}
    torch.manual_seed(1)
    ae.train(args, model, ae.make_optimizer(model, args.lr), images, 0, history)
    model.load_state_dict(start)        # the same first step, by hand
    model.train()
    torch.manual_seed(1)
    b_y = images[torch.randperm(64)]
    b_x = (b_y + 0.2 * torch.randn_like(b_y)).clamp(0, 1)
    _, decoded = model(b_x)
    expected = ((decoded - b_y) ** 2).mean() + 10 * model.kl
    assert history["train_losses"][0]["loss"] == pytest.approx(expected.item(), rel=1e-5)
