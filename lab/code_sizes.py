"""Codes of other sizes than the tutorial's 3 numbers: a row of small pictures in the live figure
for longer codes, and a scatter of 1 or 2 numbers, or of longer codes along their main axes."""
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cm

from lab import measures

def code_row(axes, code_size):
    """For codes longer than 3 numbers, each code drawn as a small picture under its digit:
    blue below 0, red above, white at 0. axes: the figure's third row, or nothing."""
    shape = code_picture_shape(code_size)
    for row in axes:
        row[0].set_ylabel(f"code\n{code_size} numbers", fontsize=8)
    return [ax.imshow(np.zeros(shape), cmap="RdBu_r", aspect="auto") for ax in axes.flat]


def draw_codes(images, encoded_data, code_size):
    # one colour scale for all the codes; the few numbers beyond 3 RMS saturate
    limit = max(3 * encoded_data.pow(2).mean().sqrt().item(), 1e-6)
    for im, code in zip(images, encoded_data.view(-1, *code_picture_shape(code_size)).numpy()):
        im.set_data(code)
        im.set_clim(-limit, limit)


def code_picture_shape(code_size):
    """Rows and columns to draw a code as a picture: 8x8 for 64 numbers, 4x5 for 20, 1x7 for 7."""
    rows = max(r for r in range(1, math.isqrt(code_size) + 1) if code_size % r == 0)
    return rows, code_size // rows


def plot_codes(encoded, labels, plot_latent):
    """plot_latent, the lesson's 3-D scatter, for codes of 3 numbers; a flat one for 1 or 2; and
    for more, plot_latent of the codes seen along their own three principal axes."""
    size = encoded.shape[1]
    if size < 3:
        return plot_flat(encoded, labels)
    if size == 3:
        return plot_latent(encoded, labels)
    mean, axes = measures.pca(encoded, 3)        # the 3 directions in which these codes spread the most
    return plot_latent(measures.pca_codes(encoded, mean, axes), labels, axis="principal axis",
                       title=f"Codes of {len(labels)} training digits, {size} numbers each, on their"
                             "\n3 principal axes (labels only colour them)")


def plot_flat(encoded, labels):
    """Codes of 2 numbers as a 2-D scatter of digits; codes of 1 number along x, one row per digit
    (the rows only spread them out: the code alone must sort them along x)."""
    encoded, labels = encoded.cpu().numpy(), labels.cpu().numpy()
    X = encoded[:, 0]
    if encoded.shape[1] == 2:
        Y, ylabel = encoded[:, 1], "code 2"
    else:
        Y = labels + np.random.default_rng(0).uniform(-0.3, 0.3, len(labels))
        ylabel = "the digit's row (labels only spread them)"
    fig, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
    for x, y, s in zip(X, Y, labels.tolist()):
        ax.text(x, y, str(s), backgroundcolor=cm.rainbow(int(255 * s / 9)), fontsize=8,
                ha="center", va="center")
    ax.set_xlim(X.min() - 0.05 * np.ptp(X), X.max() + 0.05 * np.ptp(X))
    ax.set_ylim(Y.min() - 0.05 * np.ptp(Y), Y.max() + 0.05 * np.ptp(Y))
    ax.set_xlabel("code 1" if encoded.shape[1] == 2 else "the code: 1 number")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Codes of {len(labels)} training digits, {plural(encoded.shape[1], 'number')} "
                 "each (labels only colour them)", fontsize=10)
    return fig


def plural(n, noun):
    return f"{n} {noun}" + "s" * (n != 1)


def latent_name(code_size):
    """latent_3d for the 3-D scatter (also of longer codes), latent_2d or latent_1d."""
    return f"latent_{min(code_size, 3)}d"
