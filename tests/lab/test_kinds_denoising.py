"""Denoising (lab/kinds/denoising.py): --noise and --dropout damage the input where the lesson's
batches are made, never the target."""
import torch

import autoencoder as ae


def test_noise_and_dropout_change_the_input_where_the_batch_is_made_never_the_target():
    torch.manual_seed(0)
    images = torch.rand(40, 784)
    for b_x, b_y in ae.batches(images, 8):      # the tutorial's: the input is the target
        assert b_x is b_y
    for b_x, b_y in ae.batches(images, 8, noise=0.3):
        assert b_x.min() >= 0 and b_x.max() <= 1                # clamped to pixels
        assert 0.15 < (b_x - b_y).std() < 0.3                     # std 0.3 before clamping
    seen = []
    for b_x, b_y in ae.batches(images, 8, dropout=0.5):
        dropped = b_x == 0
        assert 0.35 < dropped.float().mean() < 0.65
        assert torch.allclose(b_x[~dropped], 2 * b_y[~dropped])    # the others scaled by 1 / (1 - p)
        seen.append(b_y)
    assert torch.equal(torch.cat(seen).sort(0).values, images.sort(0).values)   # targets untouched
