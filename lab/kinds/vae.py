"""The variational autoencoder: each code is a mean and a spread; training decodes a random draw
and adds a KL term that pulls the codes towards N(0, 1), so that new codes can be drawn from it."""
import torch
from torch import nn

from lab import flags
from lab.kinds.base import Kind

VARIATIONAL = False     # a variational autoencoder: each code is a mean and a spread
KL_WEIGHT = 0.001       # weight of the VAE's KL term against the per-pixel squared error
LR = 0.001              # the learning rate with VARIATIONAL: at the lesson's its noisy codes often collapse
SPREAD = "log-variance"     # a VAE's spread: a log-variance layer; std: the standard deviation itself


def add_flags(group):
    flags.kept(group.add_argument(
        "--variational", action="store_true", default=VARIATIONAL,
        help="a variational autoencoder (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--kl-weight", type=flags.AT_LEAST_0, default=KL_WEIGHT, metavar="W",
        help="with --variational: weight of the KL term (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--spread", choices=["log-variance", "std"], default=SPREAD,
        help="with --variational: a layer beside the code's gives each number's log-variance, "
        "or its standard deviation itself (default: %(default)s)"))


def check(parser, args):
    if args.variational and (args.adversarial or args.sparsity or args.contractive):
        other = "--adversarial" if args.adversarial else "--sparsity" if args.sparsity else "--contractive"
        parser.error(f"argument {other}: a variational autoencoder's KL term already shapes its "
                     f"codes: use --variational or {other}, not both")
    if args.spread != SPREAD and not args.variational:
        parser.error("argument --spread: only a variational autoencoder has a spread: add "
                     "--variational, or leave --spread out")


def wrap(autoencoder, args):
    if not args.variational:
        return autoencoder
    return VariationalAutoEncoder(autoencoder, args.spread, args.kl_weight)


class VariationalAutoEncoder(Kind):
    """Each code is a mean and a spread: training decodes a random draw from N(mean, spread^2),
    and a KL term pulls the codes towards N(0, 1), so that new codes can be drawn from it. The
    encoder gives the means, so encoder(x) is the code as in the AutoEncoder; a second code layer
    beside the encoder's gives the spreads: log-variances, or with spread "std" (the AE/VAE
    notes') the standard deviations themselves, through the code's activation if it has one. Two
    layers of n outputs are one layer of 2n outputs split in two, as the notes write it."""
    def __init__(self, autoencoder, spread=SPREAD, kl_weight=KL_WEIGHT):
        super().__init__(autoencoder)   # the layers are autoencoder's: it made them already
        self.spread, self.kl_weight = spread, kl_weight
        self.code_layer = max(i for i, m in enumerate(self.encoder) if isinstance(m, nn.Linear))
        code = self.encoder[self.code_layer]
        self.log_var = nn.Linear(code.in_features, code.out_features)   # or the std's layer
        self.kl = 0.0   # of the last forward pass

    def forward(self, x):
        features = self.encoder[:self.code_layer](x)    # all but the code layer and after
        mean = self.encoder[self.code_layer:](features)
        spread = self.log_var(features)
        if self.spread == "std":    # 1e-8, as the notes: a std of 0 must not give log(0)
            spread = self.encoder[self.code_layer + 1:](spread)     # the code's activation, if any
            std, var, log_var = spread, spread ** 2, (1e-8 + spread ** 2).log()
        else:
            std, var, log_var = (0.5 * spread).exp(), spread.exp(), spread
        # KL divergence from N(mean, var) to N(0, 1), summed over the code, mean over the batch
        self.kl = (-0.5 * (1 + log_var - mean ** 2 - var).sum(1)).mean()
        encoded = mean
        if self.training:       # the reparameterisation trick: a random draw, yet differentiable
            encoded = mean + std * torch.randn_like(mean)
        return encoded, self.decoder(encoded)

    def loss_terms(self):
        return {"kl": self.kl_weight * self.kl}
