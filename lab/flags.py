"""What the flags of every module share: argparse types with one-line errors, a flag's value as
it is typed, and the mark of a flag that a checkpoint keeps (cli.py derives its lists from it)."""
import argparse
import math


def kept(action, role="model"):
    """Mark a flag (what add_argument returns) as one that a checkpoint keeps, and that names a
    run's folder: "model" (it makes another model or loss: --resume refuses another value) or
    "training" (--resume honours another value, and says so)."""
    action.kept = role
    return action


def number(kind, check=lambda value: value > 0, allowed="above 0"):
    """An argparse type: a finite `kind` that passes check, with an error that says what is allowed."""
    noun = "whole number" if kind is int else "finite number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None
        if not (math.isfinite(value) and check(value)):
            raise argparse.ArgumentTypeError(f"{text} is not allowed: use a {noun} {allowed}")
        return value
    return parse


AT_LEAST_0 = number(float, lambda x: x >= 0, "of 0 or more")


def layer_sizes(text):
    """An argparse type: whole numbers above 0 separated by commas, such as 128,64,12; '' for none."""
    allowed = "use whole numbers above 0 separated by commas, such as 128,64,12, or '' for none"
    try:
        sizes = [int(size) for size in text.split(",")] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of sizes: {allowed}") from None
    if min(sizes, default=1) <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: {allowed}")
    return sizes


def show_value(value):
    """A flag's value as it is typed: --hidden 128,64,12 rather than [128, 64, 12]."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "''"
    return value


def flags(names, values):
    """The flags of names with their values, as typed: '--code-size 2, --hidden 64'."""
    return ", ".join(f"--{name.replace('_', '-')} {show_value(values[name])}" for name in names)
