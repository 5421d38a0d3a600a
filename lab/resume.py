"""--resume: a checkpoint's weights, Adam's state and history loaded into the run (lab/cli.py has
taken its flags already), and what goes on as before and what not, said."""
from lab import checkpoints, cli, flags
from lab.errors import UserError


def resume(args, autoencoder, optimizer, hyperparameters):
    """Load the checkpoint of --resume into the model and optimizer (continue_run has taken its
    flags into args); say what goes on as before and what not; return its history.
    hyperparameters: the lesson's constants, the flags' defaults."""
    path, parser = args.resume, cli.make_parser(hyperparameters)
    kept = cli.kept(parser)
    checkpoint = checkpoints.load_checkpoint(path, cli.older_config(parser))
    history, done, config = checkpoint["history"], checkpoint["epoch"], checkpoint["config"]
    try:
        autoencoder.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (RuntimeError, ValueError, KeyError):    # saved by an older autoencoder.py
        raise UserError(f"error: {path} holds a model of another layout (an older autoencoder.py?): "
                        "start afresh without --resume")
    # the lr and weight decay of this run's flags; Adam's betas, which onecycle moves, reset
    for group in optimizer.param_groups:
        group.update(lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.999))
    # an epoch stopped by Ctrl-C is trained again from its start: forget its logged losses
    history["train_losses"] = [entry for entry in history["train_losses"] if entry["epoch"] < done]
    defaults = vars(cli.parse_args([], hyperparameters))
    same = [name for name in kept["model"] + kept["training"]    # those a learner may not expect
            if config[name] == getattr(args, name) != defaults[name]]
    print(f"Resuming from {path}: {done} of {args.epochs} epochs done"
          + (f", with its {flags.flags(same, config)}" if same else ""))
    for name in kept["training"]:
        if config[name] != getattr(args, name):
            print(f"  {flags.flags([name], vars(args))} instead of the checkpoint's "
                  f"{flags.show_value(config[name])}")
    if args.schedule_start != config["schedule_start"]:
        print(f"  its {args.schedule} schedule ended with epoch {done}: a new one runs over epochs "
              f"{done} to {args.epochs - 1}, from the start (peak --lr {args.lr})")
    return history
