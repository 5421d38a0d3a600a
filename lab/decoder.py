"""What the trained decoder can do: new digits from random codes, its map over a grid of codes,
one digit turning into another along the line between their codes, the test digits it rebuilds
worst, and for a denoising autoencoder, noise taken away."""
import math
import time

import matplotlib.figure
import torch
from torch import nn

from lab import checkpoints, measures
from lab.measures import decode, reconstruct

N_GRID = 15             # codes along each side of the decoder's map, code_grid.png
N_STEPS = 10            # images along each interpolation, interpolation.png
PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9))   # digits morphed into each other there
N_WORST = 10            # the test digits rebuilt worst, worst.png


def decoder_pictures(args, autoencoder, train_codes, test_images, test_labels):
    """Write generated.png, code_grid.png, interpolation.png, worst.png (and denoised.png with
    --noise); return their names, and the per-digit test losses and the worst test images for
    metrics.json."""
    start = time.perf_counter()
    train_codes = train_codes.cpu()
    generator = torch.Generator().manual_seed(args.seed)    # the same pictures for the same seed
    prior = args.variational or args.adversarial    # codes drawn from N(0, I), which they were pulled to
    figures = {"generated.png": plot_generated(autoencoder, train_codes, prior, generator),
               "code_grid.png": plot_code_grid(autoencoder, train_codes, prior),
               "interpolation.png": plot_interpolation(autoencoder, test_images, test_labels)}
    losses = measures.per_image_loss(autoencoder, test_images)           # (10000,)
    worst = losses.topk(min(N_WORST, len(losses))).indices
    figures["worst.png"] = plot_worst(autoencoder, test_images, test_labels, losses, worst)
    found = {}
    if args.noise:  # what a denoising autoencoder is for, measured on all the test digits
        figures["denoised.png"], found = plot_denoised(autoencoder, test_images, args.noise, generator)
        print(f"Denoising the test digits, noise of std {args.noise} (MSE per pixel from the clean "
              "digits): the noisy inputs {noisy_test_loss:.4f} | the outputs {denoised_test_loss:.4f}"
              .format(**found))
    for name, fig in figures.items():   # files only: the windows stay the tutorial's two
        checkpoints.save_atomically(checkpoints.out_path(args, name), lambda path: fig.savefig(path, dpi=100))
    labels = test_labels.cpu()
    by_digit = [losses[labels == digit].mean().item() if (labels == digit).any() else None
                for digit in range(10)]     # None: no test image of that digit
    order = sorted((d for d in range(10) if by_digit[d] is not None), key=lambda d: -by_digit[d])
    print("Digits from the hardest to the easiest to rebuild (test MSE per pixel): "
          + " | ".join(f"{digit} {by_digit[digit]:.4f}" for digit in order))
    print(f"Decoder pictures: {', '.join(figures)} took {time.perf_counter() - start:.1f} s")
    return list(figures), {
        **found, "test_loss_by_digit": by_digit,
        "worst_test_images": [{"index": i, "label": labels[i].item(), "mse": losses[i].item()}
                              for i in worst.tolist()]}


def code_gaussian(train_codes, variational):
    """Mean and covariance to draw new codes from: a VAE's prior, the standard normal, which its
    training pulled the codes towards; otherwise a Gaussian fitted to the training codes."""
    size = train_codes.shape[1]
    if variational:
        return torch.zeros(size), torch.eye(size)
    return train_codes.mean(0), torch.cov(train_codes.T).reshape(size, size)


def sample_codes(mean, covariance, n, generator):
    """n codes from N(mean, covariance); the covariance may be singular (codes in a subspace)."""
    values, vectors = torch.linalg.eigh(covariance.double())
    root = vectors * values.clamp(min=0).sqrt()         # root @ root.T == covariance
    noise = torch.randn(n, len(mean), generator=generator, dtype=torch.float64)
    return (mean.double() + noise @ root.T).float()


def grid_codes(train_codes, variational, n=N_GRID):
    """Codes on a regular grid, row by row from the top, and what they span: for 1 or 2 numbers
    the codes' range (a VAE: the prior's 5 % to 95 % quantiles); for more, a plane through the
    mean code along the codes' two principal axes, 2 standard deviations each way."""
    size = train_codes.shape[1]
    if size <= 2 and variational:
        steps = torch.distributions.Normal(0, 1).icdf(torch.linspace(0.05, 0.95, n))
        steps, span = steps.expand(size, n), "the prior's 5 % to 95 % quantiles"
    elif size <= 2:
        low, high = train_codes.min(0).values, train_codes.max(0).values
        steps = torch.stack([torch.linspace(a, b, n) for a, b in zip(low.tolist(), high.tolist())])
        span = "the training codes' range"
    if size == 1:
        return steps[0][:, None], f"1 number, over {span}"
    if size == 2:
        y, x = torch.meshgrid(steps[1].flip(0), steps[0], indexing="ij")   # code 2 upwards
        return torch.stack([x, y], -1).reshape(-1, 2), f"code 1 across, code 2 upwards, over {span}"
    mean, axes = measures.pca(train_codes, 2)
    spread = measures.pca_codes(train_codes, mean, axes).std(0)
    b, a = torch.meshgrid(torch.linspace(2, -2, n), torch.linspace(-2, 2, n), indexing="ij")
    plane = a.reshape(-1, 1) * spread[0] * axes[:, 0] + b.reshape(-1, 1) * spread[1] * axes[:, 1]
    return mean + plane, (f"a plane through the mean of the {size}-number codes, along their 2 "
                          "principal axes, 2 std each way")


def mosaic(images, cols, pad=2):
    """Images (N, 784) as one grey picture, cols across, with white gaps between them."""
    images = images.clamp(0, 1).view(-1, 28, 28)    # a linear decoder's pixels may leave [0, 1]
    rows = math.ceil(len(images) / cols)
    canvas = torch.ones(rows * (28 + pad) + pad, cols * (28 + pad) + pad)
    for i, image in enumerate(images):
        top, left = pad + (i // cols) * (28 + pad), pad + (i % cols) * (28 + pad)
        canvas[top:top + 28, left:left + 28] = image
    return canvas.numpy()


def plot_mosaic(images, cols, title, row_labels=(), column_labels=()):
    """One imshow of many digits: far quicker to draw than one axes per digit."""
    rows = math.ceil(len(images) / cols)
    # a Figure outside pyplot: a file only, no window flashes open while it is drawn
    fig = matplotlib.figure.Figure(figsize=(0.45 * cols + 1.4, 0.45 * rows + 0.9), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(mosaic(images, cols), cmap="gray", vmin=0, vmax=1)
    centres = [2 + 30 * i + 14 for i in range(max(rows, cols))]
    ax.set_yticks(centres[:len(row_labels)], row_labels, fontsize=8)
    ax.set_xticks(centres[:len(column_labels)], column_labels, fontsize=7)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=9)
    return fig


def plot_generated(autoencoder, train_codes, variational, generator, rows=5, cols=10):
    mean, covariance = code_gaussian(train_codes, variational)
    new_codes = sample_codes(mean, covariance, rows * cols, generator)
    source = ("the prior, a standard normal" if variational else
              "a Gaussian fitted to the training codes (their mean and covariance)")
    return plot_mosaic(decode(autoencoder, new_codes), cols,
                       f"{rows * cols} new digits, decoded from random codes drawn from\n{source}")


def plot_code_grid(autoencoder, train_codes, variational):
    grid, span = grid_codes(train_codes, variational)
    return plot_mosaic(decode(autoencoder, grid), N_GRID,
                       f"The decoder's map: digits decoded from a grid of codes,\n{span}")


def plot_interpolation(autoencoder, test_images, test_labels, pairs=PAIRS, steps=N_STEPS):
    """Per pair of test digits: the images decoded along the line between their codes, and
    beneath, the plain blend of their pixels."""
    labels = test_labels.cpu().tolist()
    ends = [(labels.index(a), labels.index(b)) for a, b in pairs   # the first test digit of each
            if a in labels and b in labels]
    t = torch.linspace(0, 1, steps)[:, None]
    rows, names = [], []
    for a, b in ends:
        x = test_images[[a, b]]
        z = measures.codes(autoencoder, x).cpu()
        rows += [decode(autoencoder, (1 - t) * z[0] + t * z[1]), (1 - t) * x[0].cpu() + t * x[1].cpu()]
        names += [f"codes {labels[a]} to {labels[b]}", "pixels"]
    return plot_mosaic(torch.cat(rows), steps, "From one test digit to another: along the line "
                       "between their codes,\nand (beneath) fading the pixels", row_labels=names)


def plot_worst(autoencoder, test_images, test_labels, losses, worst):
    x = test_images[worst.to(test_images.device)]
    rebuilt = reconstruct(autoencoder, x)
    tags = [f"{test_labels[i].item()}\n{losses[i]:.3f}" for i in worst.tolist()]
    return plot_mosaic(torch.cat([x.cpu(), rebuilt]), len(worst),
                       f"The {len(worst)} test digits rebuilt worst (label, MSE per pixel):\n"
                       "unusual digits, as an anomaly detector finds them",
                       row_labels=["input", "output"], column_labels=tags)


def plot_denoised(autoencoder, test_images, noise, generator, n=10):
    """The first n test digits with noise, rebuilt, and clean; and for all of them the MSE per
    pixel of the noisy inputs and of the outputs, from the clean digits."""
    clean = test_images.cpu()
    noisy = (clean + noise * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    rebuilt = reconstruct(autoencoder, noisy)
    fig = plot_mosaic(torch.cat([noisy[:n], rebuilt[:n], clean[:n]]), n,
                      f"What a denoising autoencoder is for: noise of std {noise}\n"
                      "added, taken away, and the clean digits", row_labels=["noisy", "output", "clean"])
    return fig, {"noisy_test_loss": nn.functional.mse_loss(noisy, clean).item(),
                 "denoised_test_loss": nn.functional.mse_loss(rebuilt, clean).item()}
