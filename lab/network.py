"""The network's layers, and what the recipes need beyond the tutorial's network: an activation on
the code, a linear output, He's or Glorot's initial weights, an L2 penalty on the weights. All the
tutorial's by default (the defaults below are the flags')."""
import math

from torch import nn

from lab import flags

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid, "linear": None}
CODE_ACTIVATION = "none"    # an activation on the code too (the AE/VAE notes put a ReLU there)
OUTPUT = "sigmoid"      # the decoder's last activation; linear: none (Hands-On ML's stacked autoencoder)
INIT = "pytorch"        # PyTorch's default initial weights; he: Hands-On ML's; glorot: Keras's
L2 = 0.0                # W x sum(w^2) / 2 over the weight matrices, added to the loss (not biases)


def layers(sizes, activation):
    """Linear layers from sizes[0] to sizes[-1], the activation between each two (none after
    the last): [784, 128, 64] gives Linear(784, 128), Tanh(), Linear(128, 64)."""
    modules = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        if modules and ACTIVATIONS[activation]:
            modules.append(ACTIVATIONS[activation]())
        modules.append(nn.Linear(n_in, n_out))
    return modules


def add_flags(group):
    flags.kept(group.add_argument(
        "--code-activation", choices=["none", *filter(ACTIVATIONS.get, ACTIVATIONS)],
        default=CODE_ACTIVATION, help="an activation on the code too (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--output", choices=["sigmoid", "linear"], default=OUTPUT,
        help="the decoder's last activation; linear: none (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--init", choices=["pytorch", "he", "glorot"], default=INIT,
        help="initial weights: PyTorch's default; he: He's, truncated normal of std "
        "sqrt(2 / inputs), biases 0; glorot: Glorot's uniform, as Keras's layers start, biases 0 "
        "(default: %(default)s)"))
    flags.kept(group.add_argument(
        "--l2", type=flags.AT_LEAST_0, default=L2, metavar="W",
        help="add W x sum(w^2) / 2 over the weight matrices to the loss, biases never; tied "
        "weights count once (default: %(default)s)"))


def check(parser, args):
    if args.loss == "bce" and (args.activation == "linear" or args.output == "linear"):
        parser.error("argument --loss: bce needs pixels between 0 and 1, which the final sigmoid "
                     "gives, and --activation linear or --output linear has none: use --loss mse")


def shape_code_and_output(autoencoder, args):
    """--code-activation and --output linear on a network just built; returns what they changed,
    in words, for the line that describes the network."""
    extras = []
    if args.code_activation != "none":      # after the code layer: it bounds the code
        autoencoder.encoder.append(ACTIVATIONS[args.code_activation]())
        extras.append(f"{args.code_activation} on the code")
    if args.output == "linear" and isinstance(autoencoder.decoder[-1], nn.Sigmoid):
        del autoencoder.decoder[-1]         # pixels come out as they are, not squeezed into (0, 1)
        extras.append("a linear output")
    return extras


def init_he(autoencoder):
    """He's initial weights as Hands-On ML draws them (TensorFlow's variance_scaling_initializer):
    a normal of std sqrt(2.6 / inputs) cut at 2 std, which leaves a std of sqrt(2 / inputs);
    biases 0."""
    for module in autoencoder.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):  # inputs: a convolution's window
            std = math.sqrt(2.6 / module.weight[0].numel())
            nn.init.trunc_normal_(module.weight, 0, std, -2 * std, 2 * std)
            nn.init.zeros_(module.bias)


def init_glorot(autoencoder):
    """Glorot's uniform initial weights, Keras's glorot_uniform, the default of its Dense and
    Conv2D layers: uniform within sqrt(6 / (inputs + outputs)), a convolution's window counted
    in both; biases 0."""
    for module in autoencoder.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


def own_parameters(autoencoder):
    """The autoencoder's parameters, each once, without an adversary's discriminator."""
    return [p for name, p in autoencoder.named_parameters() if not name.startswith("discriminator.")]


def l2_penalty(autoencoder):
    """Hands-On ML's l2_regularizer: sum(w^2) / 2 over the weight matrices (and convolutions'
    kernels), each once (a tied one too), the biases never, an adversary's never."""
    return sum(p.pow(2).sum() for p in own_parameters(autoencoder) if p.dim() >= 2) / 2


def describe(autoencoder, shape, activation, extras):
    """The line that says what was built: its kind, layer sizes, parameters."""
    parameters = sum(p.numel() for p in own_parameters(autoencoder))
    others = sum(p.numel() for p in autoencoder.parameters()) - parameters
    print(f"{type(autoencoder).__name__}: {'-'.join(map(str, shape))}, {activation}, "
          + "".join(f"{extra}, " for extra in extras) + f"{parameters:,} parameters"
          + (f" (and the discriminator's {others:,})" if others else ""))
