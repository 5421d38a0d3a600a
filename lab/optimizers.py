"""--optimizer: Adam, as the tutorial trains, or the optimizers other sources trained with, each
with its source's settings, so that a recipe reproduces the numbers it quotes from the setup that
produced them."""
import torch

from lab import flags

OPTIMIZER = "adam"      # the tutorial's; the lesson's make_optimizer builds it
# Keras 1.0's Adadelta, as the Keras blog (Chollet, 2016) compiled with optimizer='adadelta'
ADADELTA = {"lr": 1.0, "rho": 0.95, "eps": 1e-6}
# SGD with momentum 0.9: the momentum of Hinton & Salakhutdinov's (2006) pretraining, and the
# usual choice; their rate of 0.1 is the default rate
SGD = {"lr": 0.1, "momentum": 0.9}
SETTINGS = {"adadelta": ADADELTA, "sgd": SGD}


def add_flags(group):
    flags.kept(group.add_argument(
        "--optimizer", choices=["adam", *SETTINGS], default=OPTIMIZER,
        help="adam: Adam, as the tutorial; adadelta: Adadelta with Keras 1.0's settings (rho "
        "0.95, epsilon 1e-6), as the Keras blog trained, default rate 1.0; sgd: SGD with "
        "momentum 0.9, default rate 0.1 (default: %(default)s)"))


def default_lr(name):
    """The rate of --optimizer when --lr is not given, or None for Adam (the lesson's LR)."""
    return SETTINGS[name]["lr"] if name in SETTINGS else None


def make(name, parameters, lr, weight_decay):
    """Adadelta or SGD with momentum, with their sources' settings but the run's rate."""
    settings = {**SETTINGS[name], "lr": lr, "weight_decay": weight_decay}
    if name == "adadelta":
        return torch.optim.Adadelta(parameters, **settings)
    return torch.optim.SGD(parameters, **settings)
