"""What every kind of autoencoder that wraps a network has: the network's encoder and decoder (not
copies), the lesson's forward, and two hooks that the training loop calls, each empty here."""
from torch import nn


class Kind(nn.Module):
    def __init__(self, autoencoder):
        super().__init__()
        self.encoder, self.decoder = autoencoder.encoder, autoencoder.decoder

    def forward(self, x):
        encoded = self.encoder(x)           # (batch, code size)
        return encoded, self.decoder(encoded)

    def before_step(self, x):
        """Steps of training of the kind's own, before the reconstruction's step on the batch x."""

    def loss_terms(self):
        """The terms this kind adds to the loss, weighted, from its last forward pass in
        training: {name: tensor}."""
        return {}
