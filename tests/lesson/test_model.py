"""AutoEncoder: the tutorial's layers, shapes and output range; the network built from other sizes."""
import torch
from torch import nn

from autoencoder import AutoEncoder
from conftest import layer_plan


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


def test_the_default_model_has_no_variant_and_no_kl_term():
    model = AutoEncoder()
    encoded, _ = model(torch.rand(2, 784))
    assert encoded.shape == (2, 3) and [name for name, _ in model.named_children()] == ["encoder", "decoder"]
    assert sum(p.numel() for p in model.parameters()) == 2 * (784 * 128 + 128 * 64 + 64 * 12 + 12 * 3) \
        + (128 + 64 + 12 + 3) + (12 + 64 + 128 + 784)


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
