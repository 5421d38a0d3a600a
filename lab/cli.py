"""The command line: every flag with its default (the lesson's constants, or the constant beside
the module that uses it), the checks of flags that cannot go together, and the lists derived once
from the flags' marks (flags.kept): what a checkpoint keeps, what names a run's folder."""
import argparse
import collections
import os

import torch

from lab import anomaly, checkpoints, errors, features, flags, kinds, network, optimizers, recipes, runs
from lab.kinds import conv

MAX_TEST_IMG = 20       # more columns than this no longer fit a window
GIF = True              # write the two animations (--no-gif: a quicker end)


class Parser(argparse.ArgumentParser):
    def error(self, message):   # one line that names the flag; --help has the full usage
        raise errors.UserError(f"{self.prog}: error: {message}", 2)


def parse_args(argv, defaults):
    """The flags of argv over defaults, the lesson's constants by name (EPOCH, LR, HIDDEN, ...);
    with --resume, the checkpoint's flags; with --recipe, the recipe's; then the folder."""
    parser = make_parser(defaults)
    args = parser.parse_args(argv)
    args.hidden = list(args.hidden)     # the same type from the constant and from the flag
    args.train_digits = list(args.train_digits)
    args.channels = list(args.channels)
    args.schedule_start = 0     # the epoch where --schedule starts; a --resume may start anew
    given = flags_given(parser, argv, args)
    if args.name and "out_dir" in given:
        parser.error("argument --name: --out-dir names the folder already: use --name or --out-dir")
    if args.explore:    # a trained run's codes to play with: no flag that trains or shapes a run
        check_explore(parser, given)
    if args.resume:     # the checkpoint's flags, except those given again
        continue_run(args, given, parser, defaults["EPOCH"])
    elif args.recipe:   # a named system's flags, except those given
        recipes.use_recipe(args, given)
    if args.lr is None:
        args.lr = kinds.default_lr(vars(args), defaults["LR"])
    check_flags(parser, args)
    changed = changed_flags(parser, vars(args), defaults["LR"])
    args.changed = " ".join(changed)    # for runs.csv
    if args.out_dir is None:    # OUT_DIR/--name, or the flags this run changes
        args.out_dir = os.path.join(runs.OUT_DIR, args.name or runs.run_name(changed))
    args.tensorboard = args.tensorboard and tensorboard_importable()
    if args.recipe:
        print(f"Recipe {args.recipe}: {recipes.RECIPES[args.recipe][0]}")
    return args


def make_parser(defaults):
    parser = Parser(description="Train the tutorial's MNIST autoencoder and plot its codes. Defaults "
                                "are the constants in autoencoder.py (the hyperparameters at its top).")
    add_run_flags(parser, defaults)
    shape = parser.add_argument_group("the network's shape (the tutorial's by default)")
    add_network_flags(shape, defaults)
    network.add_flags(shape)
    conv.add_flags(shape)
    variants = parser.add_argument_group("variants beyond the tutorial (all off by default)")
    kinds.add_flags(variants)
    anomaly.add_flags(variants)
    features.add_flags(variants)
    return parser


def check_flags(parser, args):
    """Flags that cannot go together end in one line, as argparse's own errors do."""
    network.check(parser, args)
    most, source = conv.most_code_size(args)
    if args.code_size > most:
        parser.error(f"argument --code-size: {args.code_size} is not allowed: use a whole number "
                     f"from 1 to {most}, the numbers {source} holds")
    kinds.check(parser, args)
    features.check(parser, args)
    if args.device != "auto" and args.device not in available_devices():
        parser.error(f"argument --device: {args.device} is not available on this machine: "
                     "use --device auto or --device cpu")


EXPLORE_WITH = ("explore", "data_dir", "device", "download")   # what --explore takes beside it


def check_explore(parser, given):
    """--explore trains nothing and takes its model from the checkpoint: no other flag but
    those of EXPLORE_WITH. given: the names of the flags given (flags_given)."""
    wrong = [action.option_strings[0] for action in parser._actions
             if action.dest in given and action.dest not in EXPLORE_WITH]
    if wrong:
        parser.error(f"argument --explore: {', '.join(wrong)} cannot go with it: it trains nothing "
                     "and its checkpoint holds the model; beside it give only --data-dir, --device "
                     "or --no-download")


def add_run_flags(parser, d):
    """How long and how the run trains, and where its data and files go."""
    parser.add_argument("--epochs", type=flags.number(int), default=d["EPOCH"], metavar="N",
                        help="passes over the training set (default: %(default)s)")
    flags.kept(parser.add_argument("--batch-size", type=flags.number(int), default=d["BATCH_SIZE"], metavar="N",
                        help="images per training step (default: %(default)s)"), "training")
    flags.kept(parser.add_argument("--lr", type=flags.number(float),
                        help=f"the learning rate (default: {d['LR']}, or {kinds.vae.LR} with "
                        f"--variational or {conv.LR} with --conv; with --optimizer, its own)"), "training")
    optimizers.add_flags(parser)
    flags.kept(parser.add_argument("--loss", choices=["mse", "bce"], default=d["LOSS"],
                        help="mse: the mean squared error per pixel; bce: the cross-entropy per "
                        "pixel of Hinton & Salakhutdinov (2006) (default: %(default)s)"))
    flags.kept(parser.add_argument("--schedule", choices=["constant", "onecycle", "cosine"], default=d["SCHEDULE"],
                        help="the learning rate over the run: constant at --lr; onecycle: up to "
                        "--lr in the first 30%% of the steps, then down to almost 0; cosine: from "
                        "--lr down to 0 (default: %(default)s)"))
    parser.add_argument("--n-test-img", default=d["N_TEST_IMG"],
                        type=flags.number(int, lambda n: 0 < n <= MAX_TEST_IMG, f"from 1 to {MAX_TEST_IMG}"),
                        metavar="N", help=f"digits in the live figure, 1 to {MAX_TEST_IMG} "
                        "(default: %(default)s)")
    flags.kept(parser.add_argument("--seed", type=flags.number(int, lambda n: 0 <= n < 2 ** 32, "from 0 to 2**32-1"),
                        default=d["SEED"], metavar="N", help="random seed (default: %(default)s)"), "training")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                        help="auto picks CUDA, then MPS, then the CPU (default: %(default)s)")
    parser.add_argument("--data-dir", default=d["DATA_DIR"], metavar="DIR",
                        help="MNIST root, the folder that holds MNIST/raw/ (default: %(default)s)")
    parser.add_argument("--out-dir", metavar="DIR",
                        help="folder for the pictures, animations, checkpoint and metrics.json "
                        f"(default: a folder in {runs.OUT_DIR} named after the flags that change the "
                        "run, such as code-size-2; tutorial for none)")
    parser.add_argument("--name", type=runs.folder_name, help=f"the run's folder in {runs.OUT_DIR}, instead of "
                        "the name its flags give it")
    parser.add_argument("--tensorboard", action="store_true", help="also log the losses, the live "
                        "figure, the flags and the codes for TensorBoard, into the run's folder "
                        "(needs: pip install tensorboard)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        default=d["DOWNLOAD_MNIST"], help="never download MNIST: use only the files "
                        "already in --data-dir (downloading when missing: %(default)s)")
    parser.add_argument("--no-show", action="store_true",
                        help="open no windows, only write the files")
    parser.add_argument("--no-gif", dest="gif", action="store_false", default=GIF,
                        help="skip the two animations, for a quicker end (writing them: %(default)s)")
    parser.add_argument("--resume", metavar="PATH",
                        help="continue training from the autoencoder.pt of an earlier run")
    parser.add_argument("--explore", metavar="PATH", help="play with the codes of the autoencoder.pt of "
                        "an earlier run: a slider per code number redraws the decoded digit, a click "
                        "on the 3-D scatter takes a test digit's code; trains nothing")
    flags.kept(parser.add_argument("--recipe", choices=list(recipes.RECIPES), help="every flag of a named system "
                        "at once, as its source wrote it; flags given beside it override single "
                        "values (default: none, the constants above)"))


def add_network_flags(group, d):
    """The lesson's own: HIDDEN, CODE_SIZE, ACTIVATION and WEIGHT_DECAY."""
    flags.kept(group.add_argument(
        "--hidden", type=flags.layer_sizes, default=d["HIDDEN"], metavar="N,N,...",
        help="sizes of the encoder's hidden layers, from the pixels inwards; the decoder mirrors "
        "them; '' for none (default: %s)" % flags.show_value(d["HIDDEN"])))
    flags.kept(group.add_argument(
        "--code-size", default=d["CODE_SIZE"], metavar="N", type=flags.number(int),
        help="numbers in each code, 1 to 784, or with --conv as many as its last map holds "
        "(default: %(default)s)"))
    flags.kept(group.add_argument(
        "--activation", choices=list(network.ACTIVATIONS), default=d["ACTIVATION"],
        help="between the layers; linear: none anywhere, not even the final sigmoid "
        "(default: %(default)s)"))
    flags.kept(group.add_argument(
        "--weight-decay", type=flags.AT_LEAST_0, default=d["WEIGHT_DECAY"], metavar="W",
        help="L2 penalty on every parameter, biases too, through Adam's weight_decay "
        "(default: %(default)s)"), "training")


def flags_given(parser, argv, args):
    """The names of the flags that the command line gives, rather than leaving at their defaults."""
    unset = object()    # argparse fills in a default only where the namespace has no value
    given = parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(vars(args), unset)))
    return {name for name, value in vars(given).items() if value is not unset}


def kept(parser=None):
    """The flags a checkpoint keeps, from their marks (flags.kept): {"model": [...], "training":
    [...]}, in --help's order but --recipe first, since it stands for many of the others. The
    marks need no defaults: without a parser, one is made with none."""
    found = {"model": [], "training": []}
    parser = parser or make_parser(collections.defaultdict(lambda: None))
    for action in sorted(parser._actions, key=lambda action: action.dest != "recipe"):
        if getattr(action, "kept", None):
            found[action.kept].append(action.dest)
    return found


def tensorboard_importable():
    """--tensorboard checked here, not after an epoch: a missing or broken install is one line."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        errors.say("--tensorboard needs the tensorboard package: pip install tensorboard (this run "
                   "goes on without it)")
        return False
    return True


def older_config(parser):
    """What a checkpoint of an older autoencoder.py lacks: the defaults of the flags added since,
    which is what that version did without them."""
    values = {name: list(value) if isinstance(value, tuple) else value
              for name, value in vars(parser.parse_args([])).items()}
    values["schedule_start"] = 0
    return {name: values[name] for name in [*sum(kept(parser).values(), []), "schedule_start"]}


def changed_flags(parser, config, lr):
    """The flags whose values differ from the defaults, or from the recipe's, as typed
    (--code-size 2, --tied): --recipe first, then the others in --help's order. lr: the lesson's
    LR, the default of --lr unless a kind has its own."""
    recipe = recipes.RECIPES[config["recipe"]][1] if config.get("recipe") else {}
    changed = [f"--recipe {config['recipe']}"] if recipe else []
    for action in parser._actions:
        name = action.dest
        if not getattr(action, "kept", None) or name == "recipe" or name not in config:
            continue
        default = recipe.get(name, parser.get_default(name))
        if name == "lr" and default is None:
            default = kinds.default_lr(config, lr)
        if flags.show_value(config[name]) != flags.show_value(default):
            flag = "--" + name.replace("_", "-")
            changed.append(flag if config[name] is True else f"{flag} {flags.show_value(config[name])}")
    return changed


def available_devices():
    """The devices this machine has, in the order --device auto prefers them."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    return [name for name, present in has.items() if present]


def pick_device(name):
    return torch.device(available_devices()[0] if name == "auto" else name)


def continue_run(args, given, parser, epochs):
    """--resume: the checkpoint's flags in args, but for those given (the names of flags_given),
    which must fit; a finished scheduled run asked for more epochs starts a new schedule.
    parser: the one that parsed args; epochs: the lesson's EPOCH."""
    keeps = kept(parser)
    checkpoint = checkpoints.load_checkpoint(args.resume, older_config(parser))
    config, done = checkpoint["config"], checkpoint["epoch"]
    path, planned = args.resume, config["epochs"]
    differ = [name for name in keeps["model"] if name in given and getattr(args, name) != config[name]]
    if differ:
        raise errors.UserError(f"error: {path} was trained with {flags.flags(differ, config)} but this run has "
                               f"{flags.flags(differ, vars(args))}: use the same flags, or leave them out to keep the "
                               "checkpoint's, or start afresh without --resume")
    for name in keeps["model"] + keeps["training"] + ["epochs", "schedule_start"]:
        if name not in given:
            setattr(args, name, config.get(name, getattr(args, name)))
    if not {"out_dir", "name"} & given:     # the run goes on in its own folder
        args.out_dir = os.path.dirname(path) or "."
    if done >= args.epochs:
        raise errors.UserError(f"error: {path} has already trained {done} epochs: ask for more with --epochs "
                               f"{done + epochs}, for example")
    if args.schedule != "constant" and done < planned != args.epochs:
        raise errors.UserError(f"error: {path} stopped in epoch {done} of its {args.schedule} schedule over "
                               f"{planned} epochs: resume it without --epochs (or with --epochs {planned}), "
                               "then ask for more")
    if args.schedule != "constant" and done == planned:
        args.schedule_start = done  # finished: a new schedule over the extra epochs only
