"""The model: the tutorial's layers, shapes and output range."""
import torch
from torch import nn

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
