"""The two animations (lab/animations.py): the turning 3-D scatter looks as matplotlib draws it,
and both GIFs keep the page white."""
import matplotlib
import numpy as np
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

import autoencoder as ae
from lab import animations

matplotlib.use("agg")


def first_frame(path):
    with PIL.Image.open(path) as gif:
        return np.asarray(gif.convert("RGB")).astype(int)


def test_the_turning_scatter_is_the_scatter_matplotlib_draws(tmp_path):
    generator = torch.Generator().manual_seed(0)
    codes, labels = torch.randn(60, 3, generator=generator), torch.arange(60) % 10
    fig = ae.plot_latent(codes, labels)
    ax = fig.axes[0]
    view = ax.elev, ax.azim
    animations.save_turning(fig, tmp_path / "turning.gif", frames=4)
    frames = PIL.Image.open(tmp_path / "turning.gif")
    assert frames.n_frames == 4
    # the figure comes back as it was: its 60 labels, its view, its size
    assert len(ax.texts) == 60 and (ax.elev, ax.azim) == view and fig.dpi == 100
    assert {t.get_text() for t in ax.texts} == {str(d) for d in range(10)}

    # the first frame against matplotlib drawing the same view, labels and all, at the GIF's dpi
    fig.set_dpi(60)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    for text in ax.texts:
        text.set_visible(False)
    canvas.draw()
    unlabelled = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    frame = first_frame(tmp_path / "turning.gif")
    assert frame.shape == drawn.shape
    labels_area = (drawn != unlabelled).any(2)          # where matplotlib drew the labels
    assert labels_area.mean() > 0.02
    # pasted labels land where matplotlib draws them, within a pixel's blur and the palette
    assert np.abs(frame - drawn)[labels_area].mean() < 12
    assert np.abs(frame - unlabelled)[labels_area].mean() > 60
    assert (frame[0, 0] == 255).all()                   # the page stays white


def test_the_title_copied_into_each_turning_frame_is_where_matplotlib_draws_it(tmp_path):
    codes, labels = torch.randn(30, 3, generator=torch.Generator().manual_seed(1)), torch.arange(30) % 10
    fig = ae.plot_latent(codes, labels, title="A title drawn once\nover two lines")
    ax = fig.axes[0]
    view = ax.elev, ax.azim
    animations.save_turning(fig, tmp_path / "turning.gif", frames=3)
    assert ax.title.get_visible() and ax.title.get_text().startswith("A title")
    for text in ax.texts:
        text.set_visible(False)
    fig.set_dpi(60)
    canvas = FigureCanvasAgg(fig)
    with PIL.Image.open(tmp_path / "turning.gif") as gif:
        gif.seek(2)                         # the last view: 240 degrees on
        frame = np.asarray(gif.convert("RGB")).astype(int)
    ax.view_init(view[0], view[1] + 240)
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    box = ax.title.get_window_extent()
    rows, cols = animations.pixel_box(box, drawn.shape[0])
    assert (drawn[rows, cols] < 128).any()              # the title's dark letters are in the box
    assert np.abs(frame[rows, cols] - drawn[rows, cols]).max() <= 8     # the palette's rounding
    ax.title.set_visible(False)
    canvas.draw()
    untitled = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    assert np.abs(frame[rows, cols] - untitled[rows, cols]).max() > 100


def test_the_reconstructions_gif_holds_every_update_and_the_end(tmp_path):
    torch.manual_seed(0)
    figure = ae.LiveFigure(torch.rand(5, 784), show=None)
    model = ae.AutoEncoder()
    for step in range(7):
        figure.update(model, f"step {step}")
    animations.save_replay(figure, tmp_path / "r.gif")
    with PIL.Image.open(tmp_path / "r.gif") as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert len(durations) == 7 and durations[-1] == durations[0] + 2000
    assert (first_frame(tmp_path / "r.gif")[0, 0] == 255).all()
