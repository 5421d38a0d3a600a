"""Denoising (lab/kinds/denoising.py): --noise and --dropout damage the input where the lesson's
batches are made, never the target."""
import torch

import autoencoder as ae


def test_noise_and_dropout_change_the_input_where_the_batch_is_made_never_the_target():
    """--dropout is the denoising literature's masking noise (Vincent et al., 2008): a pixel is
    set to 0 or kept as it is, never scaled up past 1 as nn.Dropout would."""
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
        assert torch.equal(b_x[~dropped], b_y[~dropped])    # masking noise: the others as they are
        seen.append(b_y)
    assert torch.equal(torch.cat(seen).sort(0).values, images.sort(0).values)   # targets untouched
