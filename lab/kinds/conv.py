"""The convolutional autoencoder: 3x3 convolutions and 2x2 max-pools before the HIDDEN layers, and
a decoder that mirrors them with upsampling (the Keras blog's layout)."""
import argparse
import math

import torch
from torch import nn

from lab import flags, network

CONV = False            # ConvAutoEncoder: 3x3 convolutions and 2x2 max-pools before the HIDDEN layers
CHANNELS = (16, 32)     # with CONV: each convolution's channels; each pool halves 28x28: 14x14, 7x7
LR = 0.001              # the learning rate with CONV: at the lesson's its tanh layers stall at the mean image


def channel_list(text):
    """An argparse type: 1 to 5 channel counts above 0 (each pool halves the map: 28x28 to 1x1)."""
    sizes = flags.layer_sizes(text)
    if not 1 <= len(sizes) <= 5:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use 1 to 5 whole numbers above "
                                         "0 separated by commas, such as 16,32")
    return sizes


def add_flags(group):
    flags.kept(group.add_argument(
        "--conv", action="store_true", default=CONV,
        help="a convolutional autoencoder: 3x3 convolutions, each followed by a 2x2 max-pool, "
        "before the --hidden layers; the decoder mirrors them with upsampling (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--channels", type=channel_list, default=CHANNELS, metavar="N,N,...",
        help="with --conv: channels of each convolution, 1 to 5 of them, from the pixels inwards "
        "(default: %s)" % flags.show_value(CHANNELS)))


def most_code_size(args):
    """The largest code the network can have, and what holds that many numbers."""
    if args.conv:
        return math.prod(conv_map(args.channels)), "--conv's last map"
    return 28 * 28, "an image"


def check(parser, args):
    if not args.conv and args.channels != list(CHANNELS):
        parser.error("argument --channels: only a convolutional autoencoder has channels: add "
                     "--conv, or leave --channels out")
    if args.conv and args.variational and not args.hidden and \
            args.code_size == math.prod(conv_map(args.channels)):
        parser.error("argument --variational: with --conv, a code as large as the last map and no "
                     "--hidden layers, the map is the code and there is no code layer beside which "
                     "to put the spread's: give --hidden or another --code-size")


def shape(args):
    """The sizes from the pixels to the code and back, for the line that describes the network:
    784-128-64-12-3-12-64-128-784, or with --conv the maps, 1x28x28-16x14x14-..."""
    maps = ["x".join(map(str, conv_map(args.channels[:i]))) for i in range(len(args.channels) + 1)]
    inner = [*maps[1:], *args.hidden] if args.conv else args.hidden
    outer = maps[0] if args.conv else 28 * 28
    return [outer, *inner, args.code_size, *inner[::-1], outer]


class ConvAutoEncoder(nn.Module):
    """Convolutions see a pixel's neighbours, not a row of 784 numbers. Each 3x3 convolution of
    channels is followed by a 2x2 max-pool that halves the map (28x28, 14x14, 7x7, 4x4, ...); the
    last map, flattened, goes through the hidden layers to the code, as in the AutoEncoder. The
    decoder mirrors it: back to the map, then at each size a 3x3 convolution and an upsampling,
    and a last convolution to the grey pixels. The Keras blog's layout; as there, a map of
    exactly code_size numbers without hidden layers is the code itself. Images stay (batch, 784)."""
    def __init__(self, channels=CHANNELS, hidden=(128, 64, 12), code_size=3, activation="tanh"):
        super().__init__()
        channels, act = list(channels), network.ACTIVATIONS[activation] or nn.Identity
        grid = conv_map(channels)                   # (32, 7, 7) for 16,32
        sides = [conv_map(channels[:i])[1] for i in range(len(channels))][::-1]  # 14, 28 for 16,32
        sizes = [math.prod(grid), *hidden, code_size]
        dense = network.layers(sizes, activation) if sizes != [code_size] * 2 else []  # Keras: none
        encoder = [nn.Unflatten(1, (1, 28, 28))]    # (batch, 784) -> (batch, 1, 28, 28)
        for n_in, n_out in zip([1, *channels], channels):
            encoder += [nn.Conv2d(n_in, n_out, 3, padding=1), act(), nn.MaxPool2d(2, ceil_mode=True)]
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), *dense)
        decoder = [*network.layers(sizes[::-1], activation), act()] if dense else []
        decoder.append(nn.Unflatten(1, grid))
        for n_in, n_out, side in zip(channels[-1:] + channels[:0:-1], channels[::-1], sides):
            decoder += [nn.Conv2d(n_in, n_out, 3, padding=1), act(), nn.Upsample(size=(side, side))]
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(channels[0], 1, 3, padding=1), nn.Flatten())
        if activation != "linear":
            self.decoder.append(nn.Sigmoid())       # pixels back into (0, 1)
        self.to(memory_format=torch.channels_last)  # oneDNN's quickest layout: benchmarks/speed.py

    def forward(self, x):
        encoded = self.encoder(x)           # (batch, code size)
        return encoded, self.decoder(encoded)


def conv_map(channels):
    """The map after ConvAutoEncoder's convolutions and pools: (channels, side, side); each 2x2
    pool halves the side, rounding up (Keras's padding "same"): 28, 14, 7, 4, 2, 1."""
    side = 28
    for _ in channels:
        side = math.ceil(side / 2)
    return (channels[-1] if channels else 1), side, side
