"""The kinds of autoencoder beyond the tutorial's, one module each: its flags, its checks, its model
and its loss terms together.

    denoising    --noise, --dropout: a damaged input, the clean image as the target
    vae          --variational: codes as means and spreads, a KL term in the loss
    tied         --tied: the decoder reuses the encoder's weights, transposed
    penalties    --sparsity, --contractive: a penalty on the codes in the loss
    adversarial  --adversarial: a discriminator pulls the codes towards N(0, I)
    conv         --conv: convolutions before the dense layers

A kind that wraps the network (vae, penalties, adversarial) is a base.Kind: the training loop
asks it for its loss terms (loss_terms) and lets it take steps of its own (before_step). Adding
a kind: a module with add_flags (each flag marked flags.kept), check and wrap, a line in FLAGS,
CHECKS and WRAPPERS below, a recipe line in lab/recipes.py if a source uses it, and its docs.
"""
from lab import network, optimizers
from lab.kinds import adversarial, conv, denoising, penalties, tied, vae

FLAGS = (denoising, vae, tied, penalties, adversarial)     # in --help's group of variants
CHECKS = (tied, conv, vae, adversarial)
WRAPPERS = (vae, penalties, adversarial)    # at most one applies: their checks refuse the others


def add_flags(group):
    for kind in FLAGS:
        kind.add_flags(group)


def check(parser, args):
    for kind in CHECKS:
        kind.check(parser, args)


def default_lr(config, lr):
    """The learning rate when --lr is not given: --optimizer's own (Adadelta's, SGD's), else a
    VAE's, a convolutional one's, or the lesson's lr (Adam's)."""
    own = optimizers.default_lr(config.get("optimizer", optimizers.OPTIMIZER))
    return own or (vae.LR if config["variational"] else conv.LR if config["conv"] else lr)


def build(args, AutoEncoder):
    """The lesson's AutoEncoder (or ConvAutoEncoder) with the flags' changes, wrapped in the kind
    the flags ask for; prints a line that says what was built."""
    if args.conv:
        autoencoder = conv.ConvAutoEncoder(args.channels, args.hidden, args.code_size, args.activation)
    else:
        autoencoder = AutoEncoder(args.hidden, args.code_size, args.activation)
    extras = network.shape_code_and_output(autoencoder, args)
    for kind in WRAPPERS:
        autoencoder = kind.wrap(autoencoder, args)
    if args.init == "he":
        network.init_he(autoencoder)
        extras.append("He's initial weights")
    elif args.init == "glorot":
        network.init_glorot(autoencoder)
        extras.append("Glorot's initial weights")
    if args.tied:
        tied.tie_weights(autoencoder)
    network.describe(autoencoder, conv.shape(args), args.activation, extras)
    return autoencoder


def before_step(autoencoder, b_x):
    """A kind's own steps of training before the reconstruction's (the adversary's): none for a
    network that is no Kind, such as the lesson's AutoEncoder."""
    step = getattr(autoencoder, "before_step", None)
    if step is not None:
        step(b_x)


def loss_terms(autoencoder):
    """The terms a kind adds to the loss from its last forward pass, weighted: {name: tensor};
    none for a network that is no Kind."""
    terms = getattr(autoencoder, "loss_terms", None)
    return terms() if terms is not None else {}
