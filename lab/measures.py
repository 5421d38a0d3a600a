"""How good a trained autoencoder is, in numbers: its codes, its test loss, exact PCA (the best
linear autoencoder) and an exact k-nearest-neighbour vote of the codes."""
import contextlib
import math

import torch
from torch import nn

K_NEIGHBOURS = 5        # votes in the nearest-neighbour test of the codes


@contextlib.contextmanager
def evaluating(autoencoder):
    """Eval mode (a VAE's mean code, not a random draw), no gradients; then the mode it was in."""
    training = autoencoder.training
    autoencoder.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        autoencoder.train(training)


def codes(autoencoder, images, batch_size=1000):
    """The code of each image, (N, code size): the encoder alone, in batches, without training."""
    with evaluating(autoencoder):
        return torch.cat([autoencoder.encoder(x) for x in images.split(batch_size)])


def test_loss(autoencoder, images, batch_size=1000):
    """The mean squared error per pixel over images, in batches, without training."""
    with evaluating(autoencoder):
        total = sum(nn.functional.mse_loss(autoencoder(x)[1], x, reduction="sum")
                    for x in images.split(batch_size))
    return total.item() / images.numel()


def per_image(loss_per_pixel):
    """A mean squared error per pixel as the squared error per image, the sum over 784 pixels."""
    return 28 * 28 * loss_per_pixel


def per_image_loss(autoencoder, images, loss="mse", batch_size=1000):
    """The mean squared error per pixel of each image, (N,); or its cross-entropy per pixel."""
    pixel_loss = nn.functional.mse_loss if loss == "mse" else nn.functional.binary_cross_entropy
    with evaluating(autoencoder):
        return torch.cat([pixel_loss(autoencoder(x)[1], x, reduction="none").mean(1).cpu()
                          for x in images.split(batch_size)])


def decode(autoencoder, encoded):
    """Images (N, 784) decoded from codes (N, code size), on the CPU."""
    with evaluating(autoencoder):
        return autoencoder.decoder(encoded.to(next(autoencoder.parameters()).device)).cpu()


def reconstruct(autoencoder, images):
    """The decoded images (N, 784) of images, on the CPU, in eval mode."""
    with evaluating(autoencoder):
        return autoencoder(images.to(next(autoencoder.parameters()).device))[1].cpu()


def pca(images, n_components=3):
    """Exact PCA, the best linear autoencoder: the mean of the rows of images (N, d), such as the
    mean image (784,), and the top principal axes (d, n_components), eigenvectors of the
    covariance (no randomised shortcut)."""
    images = images.cpu()
    mean = images.mean(0)
    # float32 products summed in float64: the same axes as all-float64 here, in half the time
    centred = (x - mean for x in images.split(10_000))                 # in chunks: less memory
    covariance = sum((x.T @ x).double() for x in centred)
    _, axes = torch.linalg.eigh(covariance / (len(images) - 1))    # ascending eigenvalues
    return mean, axes.flip(1)[:, :n_components].float()


def pca_codes(images, mean, axes):
    return torch.cat([(x - mean) @ axes for x in images.cpu().split(10_000)])  # (N, n_components)


def pca_test_loss(images, mean, axes):
    """The mean squared error per pixel of images rebuilt from their PCA codes."""
    rebuilt = pca_codes(images, mean, axes) @ axes.T + mean
    return nn.functional.mse_loss(rebuilt, images.cpu()).item()


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k=K_NEIGHBOURS):
    """The fraction of test codes whose k nearest training codes vote for their own label.
    A tie goes to the smaller label, as in scikit-learn."""
    nearest = nearest_neighbours(train_codes.cpu().float(), test_codes.cpu().float(), k)
    votes = nn.functional.one_hot(train_labels.cpu()[nearest], 10).sum(1)     # (N, 10)
    return (votes.argmax(1) == test_labels.cpu()).sum().item() / len(test_labels)


def nearest_neighbours(train, queries, k, block=128):
    """The indices (N, k) of the k rows of train nearest to each query: an exact search.

    A few queries at a time, so that their distances to all rows stay in the cache; the rows
    are cut into blocks, and the k nearest rows lie in the k blocks with the smallest minimum
    distance, so the top-k search runs over k blocks instead of all rows: for codes of 3
    numbers, 8 times quicker than cdist and topk over all 60,000.
    """
    n, size = train.shape
    k = min(k, n)
    centre = train.mean(0)      # the same distances, in smaller numbers: less rounding below
    train, queries = train - centre, queries - centre
    pad = -n % block        # rows at an infinite distance fill the last block
    # |q - t|^2 = |q|^2 + |t|^2 - 2 q.t, and |q|^2 is the same for every row: leave it out
    norms = torch.cat([train.pow(2).sum(1), torch.full((pad,), math.inf)])
    train_t = torch.cat([train, train.new_zeros(pad, size)]).T.contiguous()   # (size, n + pad)
    rows = 16 if size <= 32 else 128    # short codes: the search dominates; long: the product
    found = []
    for q in queries.split(rows):
        distance = torch.addmm(norms, q, train_t, alpha=-2).view(len(q), -1, block)
        blocks = distance.amin(2).topk(min(k, distance.shape[1]), largest=False).indices
        candidates = distance.gather(1, blocks[:, :, None].expand(-1, -1, block)).flatten(1)
        best = candidates.topk(k, largest=False).indices    # (rows, k), among the candidates
        found.append(blocks.gather(1, best // block) * block + best % block)
    return torch.cat(found)
