"""Mnist digits dataset: synthetic IDX files read through the script's own loading code."""
import numpy as np
import pytest
import torch

from autoencoder import batches, load_mnist, to_float_images


@pytest.mark.parametrize("train", [True, False])
def test_load_mnist_reads_the_idx_files(synthetic_mnist, train):
    root, arrays = synthetic_mnist
    images, labels = load_mnist(str(root), train=train, download=False)
    assert images.dtype == torch.uint8 and images.shape == (len(arrays[train][0]), 28, 28)
    assert labels.dtype == torch.int64
    np.testing.assert_array_equal(images.numpy(), arrays[train][0])
    np.testing.assert_array_equal(labels.numpy(), arrays[train][1])


def test_download_true_uses_files_already_there(synthetic_mnist):
    root, arrays = synthetic_mnist
    images, _ = load_mnist(str(root), download=True)   # would fail here if it tried the network
    np.testing.assert_array_equal(images.numpy(), arrays[True][0])


def test_to_float_images_flattens_and_scales_to_0_1(synthetic_mnist):
    root, arrays = synthetic_mnist
    images = to_float_images(load_mnist(str(root), download=False)[0], torch.device("cpu"))
    assert images.dtype == torch.float32 and images.shape == (len(arrays[True][0]), 784)
    expected = arrays[True][0].reshape(-1, 784).astype(np.float32) / 255
    np.testing.assert_allclose(images.numpy(), expected, rtol=0, atol=1e-7)


def test_batches_visit_every_image_once_per_epoch():
    images = torch.arange(150.0).unsqueeze(1)   # image i is the number i
    sizes, seen = [], []
    for b_x, b_y in batches(images, 64):
        assert b_x is b_y                       # the tutorial's: the input is the target
        sizes.append(len(b_y))
        seen.append(b_y[:, 0])
    assert sizes == [64, 64, 22]                # the last batch is the remainder, as in DataLoader
    assert torch.equal(torch.cat(seen).sort().values, images[:, 0])


def test_batches_are_reshuffled_every_epoch():
    images = torch.arange(1000.0).unsqueeze(1)
    first, second = (torch.cat([b_y for _, b_y in batches(images, 100)])[:, 0] for _ in range(2))
    assert not torch.equal(first, images[:, 0])
    assert not torch.equal(first, second)
