"""One-class runs: train on some digits only (--train-digits), then score every test digit by its
reconstruction error and measure how well that spots the digits it never saw (the AUROC)."""
import argparse

import matplotlib.figure
import numpy as np
import torch

from lab import checkpoints, decoder, flags, measures

TRAIN_DIGITS = tuple(range(10))     # all ten; (3,): a one-class run, which spots the other digits


def add_flags(group):
    flags.kept(group.add_argument(
        "--train-digits", type=digit_list, default=TRAIN_DIGITS, metavar="D,D,...",
        help="train on these digits only, such as 3 or 3,5,8, and measure how well the "
        "reconstruction error spots the others (default: %s)" % flags.show_value(TRAIN_DIGITS)))
def digit_list(text):
    """An argparse type: digits 0 to 9 separated by commas, such as 3 or 3,5,8; sorted, once each."""
    allowed = "use digits from 0 to 9 separated by commas, such as 3 or 3,5,8"
    try:
        digits = sorted({int(digit) for digit in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of digits: {allowed}") from None
    if not 0 <= digits[0] <= digits[-1] <= 9:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: {allowed}")
    return digits


def keep_digits(images, labels, digits):
    """The images (N, 28, 28) and labels (N,) of digits only: all of them unless --train-digits."""
    if len(digits) == 10:
        return images, labels
    keep = torch.isin(labels, torch.tensor(digits))
    return images[keep], labels[keep]


N_EXTREMES = 10         # the most normal and the most anomalous test digits, anomaly.png


def detect_anomalies(args, autoencoder, test_images, test_labels):
    """After --train-digits: each test image scored by its reconstruction error, the run's loss
    per image (MSE, or the cross-entropy with --loss bce; a VAE's from its mean code, without
    the KL term), and how well the score tells the digits it never saw from the trained ones,
    the AUROC; printed, drawn into anomaly.png, and returned for metrics.json."""
    scores, labels = measures.per_image_loss(autoencoder, test_images, args.loss), test_labels.cpu()
    normal = torch.isin(labels, torch.tensor(args.train_digits))
    unseen = [d for d in range(10) if d not in args.train_digits and (labels == d).any()]
    if not unseen or not normal.any():
        print("Anomaly detection: skipped: the test set needs digits both trained and not")
        return {}
    overall = auroc(scores, ~normal)
    by_digit = [auroc(scores[normal | (labels == d)], labels[normal | (labels == d)] == d)
                if d in unseen else None for d in range(10)]
    trained = " and ".join(", ".join(f"{d}s" for d in args.train_digits).rsplit(", ", 1))
    print(f"Anomaly detection, each test digit scored by its reconstruction error: AUROC "
          f"{overall:.3f} for the digits it never saw against its {trained}")
    print(f"AUROC of each unseen digit alone against the {trained}: "
          + " | ".join(f"{d} {by_digit[d]:.3f}" for d in unseen))
    fig = plot_anomalies(autoencoder, test_images, scores, normal, overall, trained, args.loss)
    checkpoints.save_atomically(checkpoints.out_path(args, "anomaly.png"), lambda name: fig.savefig(name, dpi=100))
    return {"anomaly_auroc": overall, "anomaly_auroc_by_digit": by_digit}


def auroc(scores, positive):
    """The area under the ROC curve of scores for telling positive (True) from the rest: the
    chance that a random positive scores above a random negative, ties counted half; exact,
    as the Mann-Whitney U from the average ranks."""
    values, inverse, counts = torch.unique(scores.double(), return_inverse=True, return_counts=True)
    ranks = (counts.cumsum(0) - (counts - 1) / 2).double()[inverse]     # ties share their mean rank
    n_pos, n_neg = positive.sum().item(), (~positive).sum().item()
    return ((ranks[positive].sum().item() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(scores, positive):
    """The false and true positive rates of each threshold, from the highest score down; tied
    scores are one threshold, so that the curve's area is the AUROC."""
    order = scores.argsort(descending=True)
    ranked, hits = scores[order], positive[order].double()
    last = torch.cat([ranked[1:] != ranked[:-1], torch.tensor([True])])    # of each run of ties
    return [torch.cat([torch.zeros(1), rates.cumsum(0)[last] / rates.sum()]).numpy()
            for rates in (1 - hits, hits)]


def plot_anomalies(autoencoder, test_images, scores, normal, overall, trained, loss, n=N_EXTREMES):
    """anomaly.png: the scores of the trained and the unseen digits, the ROC curve, and the most
    normal and most anomalous test digits with their reconstructions beneath."""
    fig = matplotlib.figure.Figure(figsize=(9, 7), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1])
    hist, roc = top.subplots(1, 2)
    bins = np.geomspace(scores.min().clamp(min=1e-6).item(), scores.max().item(), 50)
    for chosen, label in ((normal, f"the {trained} it trained on"), (~normal, "the digits it never saw")):
        hist.hist(scores[chosen].numpy(), bins, weights=np.full(chosen.sum().item(), 1 / chosen.sum().item()),
                  alpha=0.6, label=label)
    hist.set(xscale="log", xlabel=f"reconstruction error ({'MSE' if loss == 'mse' else 'cross-entropy'}"
             " per pixel)", ylabel="share of each group")
    hist.tick_params(which="minor", labelbottom=False)
    hist.legend(fontsize=8)
    roc.plot(*roc_curve(scores, ~normal), label=f"AUROC {overall:.3f}")
    roc.plot([0, 1], [0, 1], "--", color="gray", label="a coin, 0.5")
    roc.set(xlabel="trained digits flagged (false alarms)", ylabel="unseen digits flagged")
    roc.legend(fontsize=8)
    order = scores.argsort()
    picks = torch.cat([order[:n], order.flip(0)[:n]])
    x = test_images[picks.to(test_images.device)].cpu()
    rebuilt = measures.reconstruct(autoencoder, x)
    ax = bottom.subplots()
    ax.imshow(decoder.mosaic(torch.cat([x[:n], rebuilt[:n], x[n:], rebuilt[n:]]), n), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([16 + 30 * i for i in range(4)], ["most normal", "rebuilt", "most anomalous", "rebuilt"])
    ax.set_xticks([])
    ax.set_title(f"The {n} test digits rebuilt best and worst by a network trained on {trained} only",
                 fontsize=10)
    return fig
