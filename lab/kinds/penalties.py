"""Sparse and contractive autoencoders: a penalty on the codes added to the loss in training, on
their size (--sparsity) or on how much they move with the pixels (--contractive)."""
import torch

from lab import flags
from lab.kinds.base import Kind

SPARSITY = 0.0          # sparse: W x the sum of |code numbers| per image (mean over a batch) added
CONTRACTIVE = 0.0       # contractive: W x |dcode/dpixels|^2 per image (the Jacobian's, exactly) added


def add_flags(group):
    flags.kept(group.add_argument(
        "--sparsity", type=flags.AT_LEAST_0, default=SPARSITY, metavar="W",
        help="sparse: add W x the sum of the code's absolute values per image, the mean over the "
        "batch (Keras's L1 activity regulariser; the Keras blog's W is 1e-4) (default: %(default)s)"))
    flags.kept(group.add_argument(
        "--contractive", type=flags.AT_LEAST_0, default=CONTRACTIVE, metavar="W",
        help="contractive: add W x the squared Frobenius norm of dcode/dpixels per image, "
        "computed exactly, the mean over the batch (default: %(default)s)"))


def wrap(autoencoder, args):
    if not (args.sparsity or args.contractive):
        return autoencoder
    return PenalizedAutoEncoder(autoencoder, args.sparsity, args.contractive)


class PenalizedAutoEncoder(Kind):
    """--sparsity and --contractive: the autoencoder's own layers, and in training a penalty on
    its codes, for the loss."""
    def __init__(self, autoencoder, sparsity=SPARSITY, contractive=CONTRACTIVE):
        super().__init__(autoencoder)   # the layers are autoencoder's: it made them already
        self.sparsity, self.contractive, self.penalty = sparsity, contractive, 0.0

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if self.contractive:        # the Jacobian is taken with respect to the pixels
            x = x.detach().requires_grad_()
        encoded = self.encoder(x)
        self.penalty = self.sparsity * sparsity_penalty(encoded)
        if self.contractive:
            self.penalty = self.penalty + self.contractive * jacobian_norm2(encoded, x, True).mean()
        return encoded, self.decoder(encoded)

    def loss_terms(self):
        return {"penalty": self.penalty}    # --sparsity's and --contractive's, weighted already


def sparsity_penalty(encoded):
    """Keras's L1 activity regulariser, as the Keras blog's sparse autoencoder uses it: the sum
    of the absolute code numbers of each image, the mean over the batch."""
    return encoded.abs().sum(1).mean()


def jacobian_norm2(encoded, x, create_graph=False):
    """The squared Frobenius norm of each image's Jacobian d encoded / d x, (batch,): exact, one
    backward pass per code number. An image's code depends on its own pixels only, so the
    gradient of a code number summed over the batch is each image's row of its Jacobian."""
    total = torch.zeros(len(x), device=x.device)
    for j in range(encoded.shape[1]):
        row, = torch.autograd.grad(encoded[:, j].sum(), x, create_graph=create_graph,
                                   retain_graph=True)
        total = total + row.pow(2).sum(1)
    return total
