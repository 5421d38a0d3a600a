"""Tied weights (lab/kinds/tied.py): the decoder uses the encoder's matrices, transposed."""
import torch
from torch import nn

from autoencoder import AutoEncoder
from lab.kinds import tied


def test_tied_decoder_uses_the_encoders_weights_transposed():
    torch.manual_seed(0)
    model, x = AutoEncoder(), torch.rand(3, 784)
    tied.tie_weights(model)
    assert len(list(model.parameters())) == 8 + 4       # encoder weights and biases, decoder biases
    linears = [m for m in model.encoder if isinstance(m, nn.Linear)][::-1]
    h = model.encoder(x)
    for layer, activation in zip(linears, [torch.tanh] * 3 + [torch.sigmoid]):
        h = activation(h @ layer.weight + 0)        # bias starts at zero
    assert torch.allclose(model(x)[1], h, atol=1e-6)
    with torch.no_grad():
        model.encoder[0].weight.mul_(2)             # one matrix: both halves change
    assert not torch.allclose(model(x)[1], h)


def test_tied_weights_mirror_a_network_of_any_shape():
    torch.manual_seed(0)
    model, x = AutoEncoder(hidden=[50], code_size=4, activation="elu"), torch.rand(3, 784)
    tied.tie_weights(model)
    first, second = [m for m in model.encoder if isinstance(m, nn.Linear)]
    expected = torch.sigmoid(nn.functional.elu(model.encoder(x) @ second.weight) @ first.weight)
    assert torch.allclose(model(x)[1], expected, atol=1e-6)    # the decoder's biases start at zero
