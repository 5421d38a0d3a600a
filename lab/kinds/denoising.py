"""Denoising autoencoders: the input is a damaged copy of the image, the target the image itself.
--noise adds Gaussian noise, --dropout sets pixels to 0 (masking noise); both are drawn afresh
for every batch."""
import torch

from lab import flags

NOISE = 0.0             # denoising: std of the Gaussian noise added to the training inputs
DROPOUT = 0.0           # masking noise: the fraction of input pixels set to 0 in training


def add_flags(group):
    flags.kept(group.add_argument(
        "--noise", type=flags.AT_LEAST_0, default=NOISE, metavar="STD",
        help="denoising: add Gaussian noise of this std to the training inputs (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--dropout", type=flags.number(float, lambda p: 0 <= p < 1, "from 0 to below 1"),
        default=DROPOUT, metavar="P",
        help="masking noise: set this fraction of the training inputs' pixels to 0, at random, "
        "the others as they are (default: %(default)s)"))


def corrupt(b_y, noise, dropout):
    """The training input made from the batch b_y: b_y itself, or for a denoising autoencoder a
    copy with Gaussian noise added and a fraction of pixels dropped; the target stays b_y."""
    b_x = b_y
    if noise:
        b_x = (b_x + noise * torch.randn_like(b_x)).clamp_(0, 1)
    if dropout:     # masking noise (Vincent et al., 2008): pixels set to 0, the others kept as
        b_x = b_x * torch.empty_like(b_x).bernoulli_(1 - dropout)   # they are, not scaled up
    return b_x
