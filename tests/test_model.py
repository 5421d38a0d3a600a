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
