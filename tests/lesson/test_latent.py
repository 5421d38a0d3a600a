"""The codes in 3-D: the tutorial's scatter (plot_latent)."""
import matplotlib.colors
import pytest
import torch

import autoencoder as ae


def test_the_scatter_draws_each_code_as_its_digit_in_its_colour_within_the_codes_range():
    torch.manual_seed(0)
    encoded, labels = torch.randn(30, 3), torch.arange(30) % 10
    fig = ae.plot_latent(encoded, labels)
    ax, = fig.axes
    assert ax.name == "3d"          # Axes3D(fig) would have left the figure blank
    assert len(ax.texts) == 30
    for text, code, label in zip(ax.texts, encoded.tolist(), labels.tolist()):
        assert text.get_text() == str(label)
        assert text.get_position_3d() == pytest.approx(code, abs=1e-6)
        colour = matplotlib.colors.to_rgba(text.get_bbox_patch().get_facecolor())
        assert colour == pytest.approx(ae.cm.rainbow(int(255 * label / 9)))
    low, high = encoded.min(0).values.tolist(), encoded.max(0).values.tolist()
    assert [ax.get_xlim(), ax.get_ylim(), ax.get_zlim()] == [pytest.approx((a, b)) for a, b in zip(low, high)]
    assert ax.get_title() == "Codes of 30 training digits (labels only colour them)"
    ae.plt.close(fig)
