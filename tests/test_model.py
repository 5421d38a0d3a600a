"""The model: the tutorial's layers, shapes and output range."""
import pytest
import torch
from torch import nn

import autoencoder as ae
from autoencoder import AutoEncoder


def layer_plan(sequential):
    """[(in, out), ...] of the Linear layers and the types of everything else, in order."""
    sizes = [(m.in_features, m.out_features) for m in sequential if isinstance(m, nn.Linear)]
    others = [type(m) for m in sequential if not isinstance(m, nn.Linear)]
    return sizes, others


def test_encoder_is_784_128_64_12_3_with_tanh_and_a_linear_code():
    sizes, activations = layer_plan(AutoEncoder().encoder)
    assert sizes == [(784, 128), (128, 64), (64, 12), (12, 3)]
    assert activations == [nn.Tanh] * 3
    assert isinstance(AutoEncoder().encoder[-1], nn.Linear)     # no activation on the code


def test_decoder_is_3_12_64_128_784_with_tanh_and_a_final_sigmoid():
    sizes, activations = layer_plan(AutoEncoder().decoder)
    assert sizes == [(3, 12), (12, 64), (64, 128), (128, 784)]
    assert activations == [nn.Tanh] * 3 + [nn.Sigmoid]
    assert isinstance(AutoEncoder().decoder[-1], nn.Sigmoid)


def test_forward_gives_codes_and_reconstructions_in_0_1():
    torch.manual_seed(0)
    x = torch.rand(7, 784)
    encoded, decoded = AutoEncoder()(x)
    assert encoded.shape == (7, 3)
    assert decoded.shape == (7, 784)
    assert decoded.min() > 0 and decoded.max() < 1


def test_forward_decodes_the_code():
    torch.manual_seed(0)
    model, x = AutoEncoder(), torch.rand(4, 784)
    encoded, decoded = model(x)
    assert torch.equal(encoded, model.encoder(x))
    assert torch.equal(decoded, model.decoder(encoded))


# ---- The variants: all off by default ----------------------------------------------------------

def test_the_default_model_has_no_variant_and_no_kl_term():
    model = AutoEncoder()
    encoded, _ = model(torch.rand(2, 784))
    assert model.kl == 0.0 and encoded.shape == (2, 3)
    assert sum(p.numel() for p in model.parameters()) == 2 * (784 * 128 + 128 * 64 + 64 * 12 + 12 * 3) \
        + (128 + 64 + 12 + 3) + (12 + 64 + 128 + 784)


def test_variational_samples_in_training_uses_the_mean_otherwise_and_measures_kl():
    torch.manual_seed(0)
    model, x = AutoEncoder(variational=True), torch.rand(5, 784)
    mean, log_var = model.encoder(x).chunk(2, dim=1)
    model.train()
    first, second = model(x)[0], model(x)[0]
    assert first.shape == (5, 3) and not torch.equal(first, second)      # sampled
    std = (0.5 * log_var).exp()
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(mean, std),
                                                 torch.distributions.Normal(0, 1)).sum(1).mean()
    assert torch.allclose(model.kl, expected, atol=1e-6)
    model.eval()
    assert torch.equal(model(x)[0], mean)


def test_tied_decoder_uses_the_encoders_weights_transposed():
    torch.manual_seed(0)
    model, x = AutoEncoder(tied=True), torch.rand(3, 784)
    assert len(list(model.parameters())) == 8 + 4       # encoder weights and biases, decoder biases
    linears = [m for m in model.encoder if isinstance(m, nn.Linear)][::-1]
    h = model.encoder(x)
    for layer, activation in zip(linears, [torch.tanh] * 3 + [torch.sigmoid]):
        h = activation(h @ layer.weight + 0)        # bias starts at zero
    assert torch.allclose(model(x)[1], h, atol=1e-6)
    with torch.no_grad():
        model.encoder[0].weight.mul_(2)             # one matrix: both halves change
    assert not torch.allclose(model(x)[1], h)


def test_dropout_hides_pixels_only_in_training():
    torch.manual_seed(0)
    plain, dropping, x = AutoEncoder(), AutoEncoder(dropout=0.5), torch.rand(4, 784)
    dropping.load_state_dict(plain.state_dict())
    dropping.train()
    assert not torch.equal(dropping(x)[1], dropping(x)[1])
    dropping.eval()
    assert torch.equal(dropping(x)[1], plain(x)[1])


# ---- The network's shape: constants and flags ------------------------------------------------------

def test_the_default_network_starts_from_the_tutorials_own_weights():
    torch.manual_seed(1)        # the tutorial's layers, written out as it writes them
    tutorial = [nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 12), nn.Linear(12, 3),
                nn.Linear(3, 12), nn.Linear(12, 64), nn.Linear(64, 128), nn.Linear(128, 784)]
    torch.manual_seed(1)
    model = AutoEncoder()
    ours = [m for m in [*model.encoder, *model.decoder] if isinstance(m, nn.Linear)]
    assert len(ours) == len(tutorial)
    for a, b in zip(tutorial, ours):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_the_decoder_mirrors_the_encoder_with_the_chosen_activation():
    model = AutoEncoder(hidden=[256, 64], code_size=20, activation="relu")
    assert layer_plan(model.encoder) == ([(784, 256), (256, 64), (64, 20)], [nn.ReLU] * 2)
    assert layer_plan(model.decoder) == ([(20, 64), (64, 256), (256, 784)], [nn.ReLU] * 2 + [nn.Sigmoid])
    encoded, decoded = model(torch.rand(3, 784))
    assert encoded.shape == (3, 20) and decoded.shape == (3, 784)
    for name, kind in [("elu", nn.ELU), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh)]:
        assert layer_plan(AutoEncoder(hidden=[300], code_size=150, activation=name).encoder) == (
            [(784, 300), (300, 150)], [kind])


def test_no_hidden_layer_is_one_linear_layer_each_way():
    model = AutoEncoder(hidden=[], code_size=7)
    assert layer_plan(model.encoder) == ([(784, 7)], [])
    assert layer_plan(model.decoder) == ([(7, 784)], [nn.Sigmoid])


def test_linear_has_no_non_linearity_anywhere_not_even_the_final_sigmoid():
    torch.manual_seed(0)
    model = AutoEncoder(activation="linear")
    assert all(isinstance(m, nn.Linear) for m in [*model.encoder, *model.decoder])
    a, b = torch.rand(4, 784), torch.rand(4, 784)
    zero = model(torch.zeros(1, 784))[1]
    # an affine map: f(a + b) = f(a) + f(b) - f(0), and outputs may leave (0, 1)
    assert torch.allclose(model(a + b)[1], model(a)[1] + model(b)[1] - zero, atol=1e-5)


def test_every_code_size_works_with_the_variational_and_tied_variants():
    torch.manual_seed(0)
    x = torch.rand(5, 784)
    for code_size in (1, 2, 4, 64, 784):
        model = AutoEncoder(hidden=[32], code_size=code_size, variational=True, tied=True)
        assert layer_plan(model.encoder)[0] == [(784, 32), (32, 2 * code_size)]  # means, log-variances
        encoded, decoded = model(x)
        assert encoded.shape == (5, code_size) and decoded.shape == (5, 784) and model.kl > 0
        assert len(list(model.parameters())) == 4 + 2      # encoder weights, biases; decoder biases


def test_tied_weights_mirror_a_network_of_any_shape():
    torch.manual_seed(0)
    model, x = AutoEncoder(hidden=[50], code_size=4, activation="elu", tied=True), torch.rand(3, 784)
    first, second = [m for m in model.encoder if isinstance(m, nn.Linear)]
    expected = torch.sigmoid(nn.functional.elu(model.encoder(x) @ second.weight) @ first.weight)
    assert torch.allclose(model(x)[1], expected, atol=1e-6)    # the decoder's biases start at zero


@pytest.mark.parametrize("variant", [{}, {"variational": True}, {"tied": True}, {"dropout": 0.5},
                                     {"hidden": [32], "code_size": 5, "activation": "relu"}])
def test_codes_are_what_the_forward_pass_encodes_in_eval_mode(variant):
    torch.manual_seed(0)
    model = ae.AutoEncoder(**variant)
    images = torch.rand(2500, 784)
    found = ae.codes(model, images)     # the encoder alone, in batches of 1000
    with torch.no_grad():
        encoded, _ = model.eval()(images)
    assert found.shape == encoded.shape
    assert torch.allclose(found, encoded, atol=1e-6)
