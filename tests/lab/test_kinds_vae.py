"""The variational autoencoder (lab/kinds/vae.py): sampling in training, the mean otherwise, its
KL term against torch.distributions and added to the loss, every code size."""
import math

import pytest
import torch

import autoencoder as ae
from autoencoder import AutoEncoder
from conftest import layer_plan
from lab import kinds, measures, training
from lab.kinds import base, tied, vae


def build(*argv):
    return kinds.build(ae.parse_args([*argv, "--device", "cpu"]), ae.AutoEncoder)


def test_variational_samples_in_training_uses_the_mean_otherwise_and_measures_kl():
    torch.manual_seed(0)
    network, x = AutoEncoder(), torch.rand(5, 784)
    model = vae.VariationalAutoEncoder(network)
    # an addition beside the tutorial's model: a kind that wraps its very layers, not a copy
    assert isinstance(model, base.Kind) and not isinstance(model, AutoEncoder)
    assert model.encoder is network.encoder and model.decoder is network.decoder
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


def test_the_vae_adds_its_weighted_kl_term_to_the_tutorials_loss():
    torch.manual_seed(0)
    marker = object()   # the tutorial's model: the lesson's loss_func alone, nothing added
    assert training.training_loss(ae.parse_args([]), AutoEncoder(), lambda decoded, b_y: marker)(
        torch.rand(2, 784), torch.rand(2, 784)) is marker
    args = ae.parse_args(["--variational", "--kl-weight", "0.5"])
    model, x = kinds.build(args, AutoEncoder), torch.rand(4, 784)     # --kl-weight: the model's weight
    _, decoded = model(x)
    terms = kinds.loss_terms(model)     # what the training loop adds, from the last forward pass
    assert list(terms) == ["kl"] and torch.equal(terms["kl"], 0.5 * model.kl)
    loss = training.training_loss(args, model, ae.loss_func)(decoded, x)
    expected = ((decoded - x) ** 2).mean() + 0.5 * model.kl
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_live_figure_shows_the_vaes_means_without_sampling():
    torch.manual_seed(0)
    model, x = vae.VariationalAutoEncoder(AutoEncoder()), torch.rand(3, 784)
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


def test_every_code_size_works_with_the_variational_and_tied_variants():
    torch.manual_seed(0)
    x = torch.rand(5, 784)
    for code_size in (1, 2, 4, 64, 784):
        model = vae.VariationalAutoEncoder(ae.AutoEncoder(hidden=[32], code_size=code_size))
        tied.tie_weights(model)
        assert layer_plan(model.encoder)[0] == [(784, 32), (32, code_size)]     # the means
        assert (model.log_var.in_features, model.log_var.out_features) == (32, code_size)
        encoded, decoded = model(x)
        assert encoded.shape == (5, code_size) and decoded.shape == (5, 784) and model.kl > 0
        assert len(list(model.parameters())) == 4 + 2 + 2  # encoder, log-variances, decoder biases


def test_a_vae_adds_its_kl_term_to_the_cross_entropy():
    torch.manual_seed(0)
    args = ae.parse_args(["--variational", "--loss", "bce", "--kl-weight", "0.5"])
    model, x = kinds.build(args, AutoEncoder), torch.rand(4, 784)
    _, decoded = model(x)
    loss = training.training_loss(args, model, ae.loss_func)
    expected = torch.nn.functional.binary_cross_entropy(decoded, x) + 0.5 * model.kl
    assert loss(decoded, x).item() == pytest.approx(expected.item(), rel=1e-6)


def test_a_log_variance_is_not_squeezed_by_the_codes_activation():
    torch.manual_seed(0)     # only the notes' standard deviations go through it
    model = build("--variational", "--code-activation", "sigmoid")
    with torch.no_grad():
        model.log_var.weight.zero_()
        model.log_var.bias.fill_(-10.0)     # a spread of exp(-5): a sigmoid would make it >= 1
    x = torch.rand(4, 784)
    model(x)
    mean = measures.codes(model, x)
    by_hand = (-0.5 * (1 - 10.0 - mean ** 2 - math.exp(-10)).sum(1)).mean()
    assert model.kl.item() == pytest.approx(by_hand.item(), rel=1e-5)
