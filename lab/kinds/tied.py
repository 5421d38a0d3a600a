"""Tied weights: each decoder layer uses its mirror image in the encoder, transposed, with a bias
of its own, so the network has about half the weights."""
import torch
from torch import nn

from lab import flags

TIED = False            # the decoder uses the encoder's weight matrices, transposed


def add_flags(group):
    flags.kept(group.add_argument(
        "--tied", action="store_true", default=TIED,
        help="the decoder reuses the encoder's weights, transposed (default: %(default)s)"))


def check(parser, args):
    if args.tied and args.conv:
        parser.error("argument --tied: --conv's decoder upsamples and has no transposed "
                     "convolutions to tie: leave --tied or --conv out")


def tie_weights(autoencoder):
    """Make each decoder Linear use its mirror image in the encoder, transposed, the last first."""
    mirrors = iter([m for m in autoencoder.encoder if isinstance(m, nn.Linear)][::-1])
    for i, module in enumerate(autoencoder.decoder):
        if isinstance(module, nn.Linear):
            autoencoder.decoder[i] = TiedLinear(next(mirrors))


class TiedLinear(nn.Module):
    """A decoder layer that uses an encoder layer's weight matrix, transposed, with its own bias."""
    def __init__(self, encoder_layer):
        super().__init__()
        self.encoder_layer = encoder_layer  # shared, not copied: Adam sees each weight once
        self.bias = nn.Parameter(torch.zeros(encoder_layer.in_features))

    def forward(self, x):
        return nn.functional.linear(x, self.encoder_layer.weight.T, self.bias)
