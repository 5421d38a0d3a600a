"""The adversarial autoencoder (Makhzani et al., 2015): a discriminator learns to tell the codes
from draws of the prior N(0, I), and the encoder learns to fool it, so that the codes spread as
the prior does."""
import torch
from torch import nn

from lab import flags, network
from lab.kinds.base import Kind

ADVERSARIAL = False     # adversarial: a discriminator pulls the codes towards the prior N(0, I)
ADVERSARY_HIDDEN = (256, 256)   # the discriminator, ReLU (the paper's: 1000, 1000)
ADVERSARY_LR = 0.0002           # Adam for the discriminator's steps and the encoder's against it
ADVERSARY_BETAS = (0.5, 0.999)  # a shorter memory of gradients than Adam's default, as for GANs


def add_flags(group):
    flags.kept(group.add_argument(
        "--adversarial", action="store_true", default=ADVERSARIAL,
        help="adversarial: as each batch comes in, a discriminator learns to tell the codes from "
        "draws of N(0, I), then the encoder to fool it (default: %(default)s)"))


def check(parser, args):
    if args.adversarial and (args.sparsity or args.contractive):
        other = "--sparsity" if args.sparsity else "--contractive"
        parser.error(f"argument {other}: with --adversarial the discriminator shapes the codes: "
                     f"use --adversarial or {other}, not both")


def wrap(autoencoder, args):
    if not args.adversarial:
        return autoencoder
    return AdversarialAutoEncoder(autoencoder, args.code_size)


class AdversarialAutoEncoder(Kind):
    """The autoencoder's own layers, and a discriminator that tells codes from draws of the prior
    N(0, I). Before the lesson's reconstruction step on each batch, the training loop calls
    before_step: the paper's regularisation phase, the discriminator's step and then the
    encoder's step to fool it, each with an Adam of its own. Its forward is the lesson's."""
    def __init__(self, autoencoder, code_size):
        super().__init__(autoencoder)   # the layers are autoencoder's: it made them already
        self.discriminator = nn.Sequential(*network.layers([code_size, *ADVERSARY_HIDDEN, 1], "relu"))
        self.optimizers = {part: torch.optim.Adam(getattr(self, part).parameters(), ADVERSARY_LR,
                                                  betas=ADVERSARY_BETAS)
                           for part in ("discriminator", "encoder")}

    def before_step(self, x):
        self.discriminator_step(x)
        self.generator_step(x)

    def discriminator_step(self, x):
        """The discriminator learns to say 1 for draws of the prior, 0 for the codes of x."""
        with torch.no_grad():
            encoded = self.encoder(x)
        prior = torch.randn_like(encoded)
        logits = self.discriminator(torch.cat([prior, encoded]))
        truth = torch.cat([torch.ones(len(prior), 1), torch.zeros(len(encoded), 1)]).to(logits)
        self.step("discriminator", nn.functional.binary_cross_entropy_with_logits(logits, truth))

    def generator_step(self, x):
        """The encoder learns to make codes that the discriminator takes for draws of the prior."""
        logits = self.discriminator(self.encoder(x))
        self.step("encoder", nn.functional.binary_cross_entropy_with_logits(
            logits, torch.ones_like(logits)))

    def step(self, part, loss):
        optimizer = self.optimizers[part]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.zero_grad(set_to_none=True)    # no gradient left for the reconstruction step

    # the two Adams' states go into state_dict, so into checkpoints, as they always have
    def get_extra_state(self):
        return {part: optimizer.state_dict() for part, optimizer in self.optimizers.items()}

    def set_extra_state(self, state):
        for part, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state[part])
